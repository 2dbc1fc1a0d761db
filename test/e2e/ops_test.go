package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/test/testhost"
)

// pruneManifest declares, on every host, a Directory with a File in it, two
// Users and an Exec.
const pruneManifest = `apiVersion: optimus.dev/v1alpha1
kind: Directory
metadata: {name: prunedir}
spec: {path: /srv/prunedir, mode: "0755"}
---
apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: prunefile}
spec: {path: /srv/prunedir/app.conf, content: "port=80\n"}
---
apiVersion: optimus.dev/v1alpha1
kind: User
metadata: {name: pruneuser}
spec: {shell: /bin/sh}
---
apiVersion: optimus.dev/v1alpha1
kind: User
metadata: {name: legacy}
spec: {shell: /bin/sh}
---
apiVersion: optimus.dev/v1alpha1
kind: Exec
metadata: {name: marker}
spec: {command: "touch /tmp/marker", creates: /tmp/marker}
`

// TestPrune applies a set, deletes its resources from the manifests, lists
// them without --prune (changing nothing) and removes them with --prune,
// except a user that existed before the first apply, which is forgotten.
func TestPrune(t *testing.T) {
	hosts := testhost.Start(t, 2)
	dir := filepath.Join(t.TempDir(), "webfleet")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	hostsManifest(t, dir, hosts)
	writeFile(t, filepath.Join(dir, "app.yaml"), pruneManifest)
	hosts[0].Exec(t, "useradd -M -s /bin/bash legacy")

	if r := run(t, nil, "apply", "-f", dir, "--yes"); r.code != 0 {
		t.Fatalf("first apply: %s", r)
	}
	for _, h := range hosts {
		got := h.Exec(t, `stat -c '%a %U' /var/lib/optimus /var/lib/optimus/webfleet@*.inventory; cut -f1-4 /var/lib/optimus/webfleet@*.inventory | grep -v '^#' | sort`)
		want := "700 root\n600 root\n" +
			"resource\tDirectory\tprunedir\tmanaged\n" +
			"resource\tExec\tmarker\tmanaged\n" +
			"resource\tFile\tprunefile\tmanaged\n"
		legacy := "resource\tUser\tlegacy\tmanaged\n"
		if h == hosts[0] {
			legacy = "resource\tUser\tlegacy\tadopted\n"
		}
		want += legacy + "resource\tUser\tpruneuser\tmanaged\n"
		if got != want {
			t.Fatalf("%s inventory:\n%s\nwant:\n%s", h.Name, got, want)
		}
	}
	present := func(h *testhost.Host) string {
		return h.Exec(t, `for p in /srv/prunedir/app.conf /srv/prunedir; do [ -e $p ] && echo $p; done
for u in pruneuser legacy; do getent passwd $u >/dev/null && echo $u; done; true`)
	}
	all := "/srv/prunedir/app.conf\n/srv/prunedir\npruneuser\nlegacy\n"

	// The resources leave the manifests.
	if err := os.Remove(filepath.Join(dir, "app.yaml")); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "apply", "-f", dir, "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "apply --prune removes or forgets them") ||
		!strings.Contains(r.stdout, hosts[1].Name+": File/prunefile would be pruned") ||
		!strings.Contains(r.stdout, hosts[0].Name+": User/legacy to forget, keep on the host: it existed before Optimus first managed it") ||
		!strings.Contains(r.stdout, ": Exec/marker to forget, keep on the host: its kind has no absent state") {
		t.Fatalf("apply without --prune: %s", r)
	}
	for _, h := range hosts {
		if got := present(h); got != all {
			t.Fatalf("apply without --prune changed %s: %q", h.Name, got)
		}
	}
	if r := run(t, nil, "diff", "-f", dir); r.code != 0 || !strings.Contains(r.stdout, "would be pruned") {
		t.Fatalf("diff without --prune: %s", r)
	}
	if r := run(t, nil, "diff", "-f", dir, "--prune"); r.code != 1 || !strings.Contains(r.stdout, "- User/pruneuser: ") {
		t.Fatalf("diff --prune: %s", r)
	}

	r = run(t, nil, "apply", "-f", dir, "--prune", "--yes")
	if r.code != 0 {
		t.Fatalf("apply --prune: %s", r)
	}
	for _, want := range []string{
		"- File/prunefile: ", "(pruned: left the manifests)",
		hosts[0].Name + ": User/legacy forgotten, kept on the host: it existed before Optimus first managed it",
		hosts[1].Name + ": User/legacy pruned",
		hosts[0].Name + ": Directory/prunedir pruned",
		": Exec/marker forgotten, kept on the host: its kind has no absent state",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("apply --prune output lacks %q: %s", want, r)
		}
	}
	if got := present(hosts[0]); got != "legacy\n" {
		t.Fatalf("%s after prune holds %q, want only the adopted user legacy", hosts[0].Name, got)
	}
	if got := present(hosts[1]); got != "" {
		t.Fatalf("%s after prune holds %q, want nothing", hosts[1].Name, got)
	}
	for _, h := range hosts {
		if got := h.Exec(t, "grep -c '^resource' /var/lib/optimus/webfleet@*.inventory || true"); strings.TrimSpace(got) != "0" {
			t.Fatalf("%s inventory still lists %s resources", h.Name, got)
		}
	}
	r = run(t, nil, "apply", "-f", dir, "--prune", "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "Nothing to do") || strings.Contains(r.stdout, "Left the manifests") {
		t.Fatalf("apply --prune after pruning: %s", r)
	}

	// A resource renamed in the manifests keeps what it manages.
	renamed := "apiVersion: optimus.dev/v1alpha1\nkind: File\nmetadata: {name: %s}\nspec: {path: /srv/renamed.conf, content: \"x\\n\"}\n"
	writeFile(t, filepath.Join(dir, "app.yaml"), fmt.Sprintf(renamed, "conf-a"))
	if r := run(t, nil, "apply", "-f", dir, "--prune", "--yes"); r.code != 0 {
		t.Fatalf("apply conf-a: %s", r)
	}
	writeFile(t, filepath.Join(dir, "app.yaml"), fmt.Sprintf(renamed, "conf-b"))
	r = run(t, nil, "apply", "-f", dir, "--prune", "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "File/conf-a forgotten, kept on the host: another resource of the manifests manages it now") {
		t.Fatalf("apply --prune after a rename: %s", r)
	}
	if got := hosts[0].Exec(t, "cat /srv/renamed.conf"); got != "x\n" {
		t.Fatalf("the renamed resource's file: %q", got)
	}

	// An inventory someone else could have written is not believed.
	hosts[1].Exec(t, "chmod 0644 /var/lib/optimus/webfleet@*.inventory")
	r = run(t, nil, "diff", "-f", dir, "--prune")
	if r.code != 2 || !strings.Contains(r.stdout, "refusing to trust it") {
		t.Fatalf("diff with a tampered inventory: %s", r)
	}
}

// planManifest declares a File on every host and a user with a password
// hash from the environment.
const planManifest = `apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: motd}
spec: {path: /etc/optimus-motd, content: "%s\n"}
---
apiVersion: optimus.dev/v1alpha1
kind: User
metadata: {name: planuser}
spec: {passwordHashFrom: {env: OPTIMUS_TEST_PLANUSER_HASH}}
`

// TestSavedPlan saves a plan, refuses it (exit 5, nothing changed) once a
// host, a secret or the manifests changed, and applies a fresh one exactly.
func TestSavedPlan(t *testing.T) {
	hosts := testhost.Start(t, 2)
	dir := t.TempDir()
	hostsManifest(t, dir, hosts)
	manifest := filepath.Join(dir, "app.yaml")
	writeFile(t, manifest, strings.Replace(planManifest, "%s", "hello", 1))
	const hash = "$6$planSALT$Xq3rWpS8yT2uV5wZ7aB9cD1eF3gH5iJ7kL9mN1oP3qR5sT7uV9wX1yZ3aB5cD7eF9gH1iJ3kL5mN7oP9qR1sT"
	t.Setenv("OPTIMUS_TEST_PLANUSER_HASH", hash)
	planFile := filepath.Join(t.TempDir(), "plan.json")

	r := run(t, nil, "diff", "-f", dir, "--out", planFile)
	if r.code != 1 || !strings.Contains(r.stderr, "Plan saved to "+planFile) {
		t.Fatalf("diff --out: %s", r)
	}
	b, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "planSALT") || strings.Contains(string(b), hash[20:40]) {
		t.Fatalf("the plan file holds the password hash:\n%s", b)
	}
	if st, _ := os.Stat(planFile); st.Mode().Perm() != 0o600 {
		t.Fatalf("plan file mode %v, want 0600", st.Mode().Perm())
	}
	untouched := func() {
		t.Helper()
		for _, h := range hosts {
			got := h.Exec(t, "getent passwd planuser >/dev/null && echo planuser; cat /etc/optimus-motd 2>/dev/null; true")
			want := ""
			if h == hosts[1] {
				want = "by hand\n"
			}
			if got != want {
				t.Fatalf("%s changed by a refused plan: %q", h.Name, got)
			}
		}
	}

	// A host changes by hand: the saved plan is refused, naming it.
	hosts[1].Exec(t, "echo 'by hand' >/etc/optimus-motd")
	r = run(t, nil, "apply", "-f", dir, "--plan", planFile, "--yes")
	if r.code != 5 || !strings.Contains(r.stderr, hosts[1].Name+": File/motd") || strings.Contains(r.stderr, hosts[0].Name) {
		t.Fatalf("apply --plan after a change by hand: %s", r)
	}
	untouched()

	// A fresh plan sees the hand-made change; a changed secret refuses it.
	if r := run(t, nil, "diff", "-f", dir, "--out", planFile); r.code != 1 {
		t.Fatalf("diff --out: %s", r)
	}
	t.Setenv("OPTIMUS_TEST_PLANUSER_HASH", strings.Replace(hash, "Xq3", "Yq3", 1))
	r = run(t, nil, "apply", "-f", dir, "--plan", planFile, "--yes")
	if r.code != 5 || !strings.Contains(r.stderr, hosts[0].Name+": User/planuser") || !strings.Contains(r.stderr, hosts[1].Name+": User/planuser") {
		t.Fatalf("apply --plan after the secret changed: %s", r)
	}
	untouched()
	t.Setenv("OPTIMUS_TEST_PLANUSER_HASH", hash)

	// Other manifests: refused too.
	writeFile(t, manifest, strings.Replace(planManifest, "%s", "changed", 1))
	r = run(t, nil, "apply", "-f", dir, "--plan", planFile, "--yes")
	if r.code != 5 || !strings.Contains(r.stderr, "was made from other manifests") {
		t.Fatalf("apply --plan with other manifests: %s", r)
	}
	untouched()
	writeFile(t, manifest, strings.Replace(planManifest, "%s", "hello", 1))

	r = run(t, nil, "apply", "-f", dir, "--plan", planFile, "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "Plan (cycle 1): 6 actions on 2 hosts") || strings.Contains(r.stdout, "Plan (cycle 2)") {
		t.Fatalf("apply --plan of a fresh plan: %s", r)
	}
	for _, h := range hosts {
		got := h.Exec(t, "getent shadow planuser | cut -d: -f2; cat /etc/optimus-motd")
		if got != hash+"\nhello\n" {
			t.Fatalf("%s after apply --plan: %q", h.Name, got)
		}
	}
	if r := run(t, nil, "diff", "-f", dir); r.code != 0 {
		t.Fatalf("diff after apply --plan: %s", r)
	}
	// The host's inventory names the user, not where its secret comes from.
	got := hosts[0].Exec(t, "cat /var/lib/optimus/*.inventory")
	if !strings.Contains(got, "resource\tUser\tplanuser\t") || strings.Contains(got, "OPTIMUS_TEST_PLANUSER_HASH") || strings.Contains(got, "planSALT") {
		t.Fatalf("inventory:\n%s", got)
	}
}

// restartManifest is a File and a Service that restarts when it changes;
// cut adds an Exec, run after the File and before the restart, that cuts
// every SSH session to the host once.
const restartManifest = `apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: webd-conf}
spec: {path: /etc/optimus-webd.conf, content: "%s\n"}
---
apiVersion: optimus.dev/v1alpha1
kind: Service
metadata: {name: optimus-webd}
spec:
  restartOn: [{kind: File, name: webd-conf}]
  %s
`

const cutExec = `---
apiVersion: optimus.dev/v1alpha1
kind: Exec
metadata: {name: cut}
spec:
  command: "touch /tmp/cut-once; pkill -9 -f 'sshd: root'"
  creates: /tmp/cut-once
  dependsOn: [{kind: File, name: webd-conf}]
`

// stopExec stops the test host once (its sshd is the container's main
// process): it cannot be reached again until the test starts it.
const stopExec = `---
apiVersion: optimus.dev/v1alpha1
kind: Exec
metadata: {name: stop}
spec:
  command: "touch /var/tmp/stop-once; kill -TERM 1"
  creates: /var/tmp/stop-once
  dependsOn: [{kind: File, name: webd-conf}]
`

// TestPendingRestart cuts the connection after a File changed and before
// its Service restarted: the restart is recorded as pending on the host,
// and the run, which reconnects and observes the host again, finds it owed
// and runs it exactly once. A run that cannot reconnect (the host stopped)
// leaves it pending for the next apply, which diff shows.
func TestPendingRestart(t *testing.T) {
	h := testhost.Start(t, 1)[0]
	// The init script of optimus-webd without its package: it logs every start.
	script := webdRepo[strings.Index(webdRepo, "#!/bin/sh"):]
	script = script[:strings.Index(script, "\nINIT\n")+1]
	h.Exec(t, "cat >/etc/init.d/optimus-webd <<'INIT'\n"+script+"INIT\nchmod 755 /etc/init.d/optimus-webd")
	dir := t.TempDir()
	hostsManifest(t, dir, []*testhost.Host{h})
	manifest := filepath.Join(dir, "webd.yaml")
	starts := func() string {
		return strings.TrimSpace(h.Exec(t, "grep -c start /var/log/optimus-webd.starts || true"))
	}

	writeFile(t, manifest, fmt.Sprintf(restartManifest, "port=80", ""))
	if r := run(t, nil, "apply", "-f", dir, "--yes"); r.code != 0 || starts() != "1" {
		t.Fatalf("first apply (starts %s): %s", starts(), r)
	}

	writeFile(t, manifest, fmt.Sprintf(restartManifest, "port=8080", "dependsOn: [{kind: Exec, name: cut}]")+cutExec)
	r := run(t, nil, "apply", "-f", dir, "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "connection lost:") || !strings.Contains(r.stdout, "(pending: ") || starts() != "2" {
		t.Fatalf("apply cut short (starts %s, want 2: one start, one restart): %s", starts(), r)
	}
	got := h.Exec(t, "cat /etc/optimus-webd.conf; grep -c '^pending' /var/lib/optimus/*.inventory || true")
	if got != "port=8080\n0\n" {
		t.Fatalf("after the cut: %q, want the new file and nothing pending", got)
	}
	if r := run(t, nil, "apply", "-f", dir, "--yes"); r.code != 0 || !strings.Contains(r.stdout, "Nothing to do") || starts() != "2" {
		t.Fatalf("apply once more (starts %s): %s", starts(), r)
	}

	// A host that does not come back: the restart stays pending.
	writeFile(t, manifest, fmt.Sprintf(restartManifest, "port=8081", "dependsOn: [{kind: Exec, name: stop}]")+stopExec)
	r = run(t, nil, "apply", "-f", dir, "--yes")
	if r.code != 3 || !strings.Contains(r.stdout, "could not be opened again") {
		t.Fatalf("apply with the host gone: %s", r)
	}
	h.Start(t)
	hostsManifest(t, dir, []*testhost.Host{h}) // Docker may publish it on another port
	h.Exec(t, "service optimus-webd start >/dev/null")
	if got := h.Exec(t, "grep '^pending' /var/lib/optimus/*.inventory"); got != "pending\tService\toptimus-webd\n" || starts() != "3" {
		t.Fatalf("after the host went away (starts %s): %q", starts(), got)
	}
	r = run(t, nil, "diff", "-f", dir)
	if r.code != 1 || !strings.Contains(r.stdout, "Service/optimus-webd: restart") || !strings.Contains(r.stdout, "pending") {
		t.Fatalf("diff shows no pending restart: %s", r)
	}
	if r := run(t, nil, "apply", "-f", dir, "--yes"); r.code != 0 || starts() != "4" {
		t.Fatalf("apply after the host came back (starts %s, want 4: the restart owed): %s", starts(), r)
	}
}

// TestControllerPrune: optimus-controller --prune removes from the host
// what leaves the watched directory.
func TestControllerPrune(t *testing.T) {
	h := testhost.Start(t, 1)[0]
	dir := filepath.Join(t.TempDir(), "ctlset")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	hostsManifest(t, dir, []*testhost.Host{h})
	app := filepath.Join(dir, "app.yaml")
	writeFile(t, app, `apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: ctlfile}
spec: {path: /srv/ctl.txt, content: "on\n"}
---
apiVersion: optimus.dev/v1alpha1
kind: User
metadata: {name: ctluser}
spec: {}
`)
	startController(t, dir, "--prune")
	held := func() string {
		return h.Exec(t, "[ -e /srv/ctl.txt ] && echo file; getent passwd ctluser >/dev/null && echo user; true")
	}
	eventually(t, 60*time.Second, "the controller applies the set", func() bool { return held() == "file\nuser\n" })
	if got := h.Exec(t, "cut -f1-4 /var/lib/optimus/ctlset@*.inventory | grep -c '^resource.*managed$'"); strings.TrimSpace(got) != "2" {
		t.Fatalf("inventory lists %s managed resources, want 2", got)
	}
	if err := os.Remove(app); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the controller prunes what left the directory", func() bool { return held() == "" })
}
