package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus"
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/builtin"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/test/testhost"
)

// TestSeedScenario is the README example: alice everywhere, bob on the web
// host only, oscar (created first) removed everywhere; then a second apply
// and a diff find nothing to do, and diff left every host untouched.
func TestSeedScenario(t *testing.T) {
	hosts := testhost.Start(t, 3)
	for _, h := range hosts {
		h.Exec(t, "useradd -m oscar")
	}
	dir := seedDir(t, hosts)

	// Logging in over SSH leaves traces of its own (PAM writes
	// /run/motd.dynamic and wtmp); one diff first makes the baseline include
	// them, so the comparison below sees only what observing did.
	run(t, nil, "diff", "-f", dir)
	before := dockerDiffs(t, hosts)
	r := run(t, nil, "diff", "-f", dir)
	if r.code != 1 || !strings.Contains(r.stdout, "+ User/alice: create user alice") || !strings.Contains(r.stdout, "- User/oscar: delete user oscar") {
		t.Fatalf("diff before apply: want exit 1 and the plan\n%s", r)
	}
	after := dockerDiffs(t, hosts)
	for i := range hosts {
		if before[i] != after[i] {
			t.Errorf("diff changed %s's filesystem: docker diff before:\n%s\nafter:\n%s", hosts[i].Name, before[i], after[i])
		}
	}

	// Without a terminal and without --yes, apply refuses instead of hanging
	// or acting unasked.
	r = run(t, nil, "apply", "-f", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "pass --yes") || users(t, hosts[0])["alice"] {
		t.Fatalf("apply without --yes and without a terminal: want exit 1, nothing changed\n%s", r)
	}

	r = run(t, nil, "apply", "-f", dir, "--yes")
	if r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	for i, h := range hosts {
		u := users(t, h)
		wantBob := i == len(hosts)-1
		if !u["alice"] || u["bob"] != wantBob || u["oscar"] {
			t.Errorf("%s: alice=%v bob=%v (want %v) oscar=%v", h.Name, u["alice"], u["bob"], wantBob, u["oscar"])
		}
	}
	web := hosts[len(hosts)-1]
	if got := web.Exec(t, "id -nG bob"); !strings.Contains(got, "sudo") {
		t.Errorf("bob's groups on %s = %q, want sudo among them", web.Name, got)
	}
	if got := strings.TrimSpace(hosts[0].Exec(t, "getent passwd alice | cut -d: -f7")); got != "/bin/bash" {
		t.Errorf("alice's shell = %q", got)
	}

	r = run(t, nil, "apply", "-f", dir, "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "Nothing to do") {
		t.Errorf("second apply: want exit 0 and nothing to do\n%s", r)
	}
	r = run(t, nil, "diff", "-f", dir)
	if r.code != 0 {
		t.Errorf("diff after apply: want exit 0\n%s", r)
	}

	// A no-op run costs one connection and one round trip per host.
	r = run(t, nil, "apply", "-f", dir, "--yes", "-o", "json")
	var rep struct {
		Hosts []struct {
			Host       string
			RoundTrips int
			Connects   int
		}
		ExitCode int
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.ExitCode != 0 {
		t.Fatalf("json output: %v\n%s", err, r)
	}
	for _, h := range rep.Hosts {
		if h.RoundTrips != 1 || h.Connects != 1 {
			t.Errorf("%s: no-op took %d round trips over %d connections, want 1 over 1", h.Host, h.RoundTrips, h.Connects)
		}
	}
}

// dockerDiffs returns `docker diff` of every host's container.
func dockerDiffs(t *testing.T, hosts []*testhost.Host) []string {
	t.Helper()
	var out []string
	for _, h := range hosts {
		lines := strings.Split(strings.TrimSpace(dockerOut(t, "diff", h.Container)), "\n")
		sort.Strings(lines) // docker diff lists in no stable order
		out = append(out, strings.Join(lines, "\n"))
	}
	return out
}

// TestQuarantine stops one host and pauses another: the third converges,
// both failures are reported with reasons, apply exits 3 once the connect
// timeout has passed.
func TestQuarantine(t *testing.T) {
	hosts := testhost.Start(t, 3)
	dir := seedDir(t, hosts)
	hosts[0].Stop(t)
	hosts[1].Pause(t)
	t.Cleanup(func() { hosts[1].Unpause(t) })

	start := time.Now()
	r := run(t, nil, "apply", "-f", dir, "--yes")
	took := time.Since(start)
	if r.code != 3 {
		t.Fatalf("want exit 3 (some hosts failed)\n%s", r)
	}
	// Generous: it shows only that the paused host does not hold the run.
	if took > connectTimeout+time.Minute {
		t.Errorf("apply took %s with a %s connect timeout", took, connectTimeout)
	}
	for _, want := range []string{hosts[0].Name, hosts[1].Name} {
		if !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "failed") {
			t.Errorf("summary does not report %s as failed\n%s", want, r)
		}
	}
	if !strings.Contains(r.stdout, "timeout") {
		t.Errorf("the paused host's reason should mention the timeout\n%s", r)
	}
	if u := users(t, hosts[2]); !u["alice"] || !u["bob"] {
		t.Errorf("the healthy host did not converge: %v", u)
	}
	// diff cannot vouch for hosts it could not observe: an error, not "no differences".
	r = run(t, nil, "diff", "-f", dir)
	if r.code != 2 || strings.Contains(r.stdout, "No differences") || !strings.Contains(r.stdout, "2 hosts could not be observed") {
		t.Errorf("diff with unreachable hosts: want exit 2\n%s", r)
	}
}

// TestActionFailureQuarantinesOneHost makes useradd fail on one host (the
// passwd file is locked) and checks the others converge.
func TestActionFailureQuarantinesOneHost(t *testing.T) {
	hosts := testhost.Start(t, 3)
	dir := seedDir(t, hosts)
	hosts[0].Exec(t, "touch /etc/passwd.lock")

	r := run(t, nil, "apply", "-f", dir, "--yes")
	if r.code != 3 {
		t.Fatalf("want exit 3\n%s", r)
	}
	if !strings.Contains(r.stdout, hosts[0].Name) || !strings.Contains(r.stdout, "User/alice") || !strings.Contains(r.stdout, "FAILED") {
		t.Errorf("the failure is not attributed to User/alice on %s\n%s", hosts[0].Name, r)
	}
	if u := users(t, hosts[0]); u["alice"] {
		t.Errorf("alice exists on the failed host")
	}
	for _, h := range hosts[1:] {
		if u := users(t, h); !u["alice"] {
			t.Errorf("%s did not converge", h.Name)
		}
	}
}

// flaky is a test kind whose reconciler always finds a difference.
type flakySpec struct {
	v1alpha1.Targeting `json:",inline"`
}

type flakyReconciler struct{}

func (flakyReconciler) Kind() string { return "Flaky" }
func (flakyReconciler) Queries(*v1alpha1.Host, []reconcilers.Object[flakySpec]) []reconcilers.Query {
	return []reconcilers.Query{{Key: "flaky.true", Script: "true"}}
}
func (flakyReconciler) Plan(context.Context, reconcilers.TypedRequest[flakySpec]) ([]reconcilers.Action, error) {
	return []reconcilers.Action{{Op: reconcilers.OpRun, Description: "touch the flag", Script: "touch /tmp/flaky"}}, nil
}

// TestNonConvergence: a resource that always reports a difference makes
// apply give up after --max-cycles with exit 4 and name it.
func TestNonConvergence(t *testing.T) {
	hosts := testhost.Start(t, 1)
	dir := t.TempDir()
	hostsManifest(t, dir, hosts)
	writeFile(t, filepath.Join(dir, "flaky.yaml"), "apiVersion: test.optimus.dev/v1\nkind: Flaky\nmetadata: {name: forever}\nspec: {}\n")
	flaky := reconcilers.NewKind[flakySpec]("test.optimus.dev/v1", "Flaky", "Always differs.", flakyReconciler{})
	cfg, err := optimus.Config(optimus.WithKinds(append(builtin.Kinds(), flaky)...))
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, &cfg, "apply", "-f", dir, "--yes", "--max-cycles", "2")
	if r.code != 4 || !strings.Contains(r.stdout, hosts[0].Name+": Flaky/forever") {
		t.Fatalf("want exit 4 naming Flaky/forever\n%s", r)
	}
}

// TestSecretsNeverShown sets a password hash and greps every output for it.
func TestSecretsNeverShown(t *testing.T) {
	hosts := testhost.Start(t, 1)
	dir := t.TempDir()
	hostsManifest(t, dir, hosts)
	const hash = "$6$saltsalt$Yv1lMZSNmPvcUrz7yXqCKOIkQjvl9h3bx4Nq8L8u0/tKq2wOGg1oz9uHTcHBPwUzW6ZLGuXYdJMpLJmTjzIJb."
	t.Setenv("CAROL_HASH", hash)
	writeFile(t, filepath.Join(dir, "carol.yaml"), `apiVersion: optimus.dev/v1alpha1
kind: User
metadata: {name: carol}
spec:
  passwordHashFrom: {env: CAROL_HASH}
`)
	var outputs []result
	outputs = append(outputs, run(t, nil, "diff", "-f", dir), run(t, nil, "diff", "-f", dir, "-o", "json"))
	apply := run(t, nil, "apply", "-f", dir, "--yes", "-o", "json")
	if apply.code != 0 {
		t.Fatalf("apply: %s", apply)
	}
	outputs = append(outputs, apply)
	// Change the hash on the host so the next plan shows a password change again.
	hosts[0].Exec(t, "usermod -p '$6$other$abc' carol")
	outputs = append(outputs, run(t, nil, "apply", "-f", dir, "--yes"))
	for _, o := range outputs {
		if strings.Contains(o.stdout+o.stderr, "Yv1lMZSNmPvcUrz7") {
			t.Errorf("the password hash appears in output:\n%s", o)
		}
	}
	if !strings.Contains(outputs[0].stdout, "password") || !strings.Contains(outputs[0].stdout, reconcilers.Redacted) {
		t.Errorf("the plan should show a redacted password change\n%s", outputs[0])
	}
	if got := hosts[0].Exec(t, "getent shadow carol | cut -d: -f2"); strings.TrimSpace(got) != hash {
		t.Errorf("carol's hash on the host = %q", got)
	}
}

func dockerOut(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestMissingSecretChangesNothing: a secret that cannot be read is bad input,
// reported with file and field before any host is touched.
func TestMissingSecretChangesNothing(t *testing.T) {
	hosts := testhost.Start(t, 1)
	dir := t.TempDir()
	hostsManifest(t, dir, hosts)
	writeFile(t, filepath.Join(dir, "dave.yaml"), "apiVersion: optimus.dev/v1alpha1\nkind: User\nmetadata: {name: dave}\n"+
		"spec:\n  passwordHashFrom: {env: OPTIMUS_TEST_UNSET_HASH}\n---\napiVersion: optimus.dev/v1alpha1\nkind: User\nmetadata: {name: erin}\nspec: {}\n")
	os.Unsetenv("OPTIMUS_TEST_UNSET_HASH")
	r := run(t, nil, "apply", "-f", dir, "--yes")
	if r.code != 1 || !strings.Contains(r.stderr, "dave.yaml:1: User/dave: spec.passwordHashFrom: environment variable OPTIMUS_TEST_UNSET_HASH is not set") {
		t.Errorf("want exit 1 naming file, resource, field and variable\n%s", r)
	}
	if u := users(t, hosts[0]); u["erin"] || u["dave"] {
		t.Errorf("the host was changed: %v", u)
	}
	if r := run(t, nil, "diff", "-f", dir); r.code != 2 {
		t.Errorf("diff: want exit 2\n%s", r)
	}
}
