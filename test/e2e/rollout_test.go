package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus"
	"github.com/optimus-cm/optimus/builtin"
	"github.com/optimus-cm/optimus/internal/cli"
	"github.com/optimus-cm/optimus/test/testhost"
)

// rolloutInit is an init script for app-hN services: several Host
// resources share a container, so each host has its own service, pid file,
// configuration (/srv/app-hN.conf) and start log. Start fails when the
// configuration holds a typo, as a real daemon refuses a broken file.
const rolloutInit = `#!/bin/sh
N=$(basename "$0"); P=/run/$N.pid; C=/srv/$N.conf
# A pid file left by a container restart may name another process now:
# only the loop started for this service counts.
running() { [ -f $P ] && tr '\0' ' ' </proc/"$(cat $P)"/cmdline 2>/dev/null | grep -q "app-loop $N"; }
case "$1" in
start) running && exit 0
	if grep -q typo $C 2>/dev/null; then echo "$N: syntax error in $C" >&2; exit 1; fi
	setsid sh -c 'while :; do sleep 1; done' "app-loop $N" </dev/null >/dev/null 2>&1 &
	echo $! >$P; echo start >>/var/log/$N.starts ;;
stop) running && kill "$(cat $P)"; rm -f $P; exit 0 ;;
restart) "$0" stop; "$0" start ;;
status) running ;;
*) exit 2 ;;
esac
`

// rolloutFleet is nine Host resources h1..h9, three per container (hN on
// container (N-1)%3), each with its own configuration File and a Service
// restarted when it changes. Hosts named in broken are labelled broken.
type rolloutFleet struct {
	manifests  string
	dir        string // when set, write also writes the manifests there
	extra      string // more manifests, written with the fleet's
	containers []*testhost.Host
	broken     map[string]bool
}

// apply runs optimus apply on the fleet's manifests, read from standard
// input: the manifest set then has no name, so no inventory is kept under
// /var/lib/optimus, where the three Host resources of a container would
// share one file.
func (f *rolloutFleet) apply(t *testing.T, args ...string) result {
	t.Helper()
	cfg, err := optimus.Config(optimus.WithKinds(builtin.Kinds()...))
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := cli.Run(cfg, append([]string{"apply", "-f", "-", "--yes"}, args...), strings.NewReader(f.manifests), &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func (f *rolloutFleet) container(n int) *testhost.Host { return f.containers[(n-1)%len(f.containers)] }

// write writes the manifests with the configuration template content.
func (f *rolloutFleet) write(t *testing.T, content string) {
	t.Helper()
	var b strings.Builder
	for n := 1; n <= 9; n++ {
		h, name := f.container(n), fmt.Sprintf("h%d", n)
		labels := "app: " + name
		if f.broken[name] {
			labels += ", broken: \"true\""
		}
		fmt.Fprintf(&b, `---
apiVersion: optimus.dev/v1alpha1
kind: Host
metadata: {name: %[1]s, labels: {%[2]s}}
spec:
  address: 127.0.0.1
  port: %[3]d
  privateKeyFile: %[4]s
  hostKey: {knownHostsFile: %[5]s}
  connectTimeout: %[7]s
---
apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: conf-%[1]s}
spec:
  hostSelector: {matchLabels: {app: %[1]s}}
  path: /srv/app-%[1]s.conf
  template: true
  content: %[6]q
---
apiVersion: optimus.dev/v1alpha1
kind: Service
metadata: {name: app-%[1]s}
spec:
  hostSelector: {matchLabels: {app: %[1]s}}
  restartOn: [{kind: File, name: conf-%[1]s}]
`, name, labels, h.Port, h.KeyFile, h.KnownHostsFile, content, connectTimeout)
	}
	f.manifests = b.String() + f.extra
	if f.dir != "" {
		// One write: the controller must never read half a change.
		tmp := filepath.Join(f.dir, ".fleet.yaml.tmp")
		writeFile(t, tmp, f.manifests)
		if err := os.Rename(tmp, filepath.Join(f.dir, "fleet.yaml")); err != nil {
			t.Fatal(err)
		}
	}
}

// newRolloutFleet starts three containers and installs the app-hN init
// scripts; h2 and h4 are labelled broken.
func newRolloutFleet(t *testing.T) *rolloutFleet {
	f := &rolloutFleet{containers: testhost.Start(t, 3), broken: map[string]bool{"h2": true, "h4": true}}
	for i, c := range f.containers {
		var script strings.Builder
		for n := i + 1; n <= 9; n += 3 {
			fmt.Fprintf(&script, "cat >/etc/init.d/app-h%[1]d <<'EOF'\n%[2]sEOF\nchmod 755 /etc/init.d/app-h%[1]d\n", n, rolloutInit)
		}
		c.Exec(t, script.String())
	}
	return f
}

// config returns hN's configuration file and how often its service started,
// read on the container.
func (f *rolloutFleet) config(t *testing.T, n int) (string, string) {
	t.Helper()
	out := f.container(n).Exec(t, fmt.Sprintf("cat /srv/app-h%[1]d.conf; echo; grep -c start /var/log/app-h%[1]d.starts || true", n))
	conf, starts, _ := strings.Cut(strings.TrimRight(out, "\n"), "\n\n")
	return conf, starts
}

// TestApplyRollout: --batch 1,3,100% --max-fail 1 converges the canary,
// stops when the second batch's two broken hosts spend the budget, and never
// touches the third batch; an unreachable host counts against the budget.
func TestApplyRollout(t *testing.T) {
	f := newRolloutFleet(t)
	f.write(t, "version 1\n")
	if r := f.apply(t); r.code != 0 {
		t.Fatalf("first apply: %s", r)
	}

	// The change: the broken hosts' configuration gets a typo their service
	// refuses.
	f.write(t, "version 2\n{{ if index .Host.Labels \"broken\" }}typo\n{{ end }}")
	r := f.apply(t, "--batch", "1,3,100%", "--max-fail", "1")
	if r.code != 3 {
		t.Fatalf("apply: want exit 3\n%s", r)
	}
	for _, want := range []string{
		"Batch 1 of 3: acting on h1",
		"Batch 2 of 3: acting on h2, h3, h4",
		"stopped: 2 of 9 hosts failed (budget 1)",
		"never touched: h5, h6, h7, h8, h9",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("apply output lacks %q\n%s", want, r)
		}
	}
	if strings.Contains(r.stdout, "Batch 3 of 3") {
		t.Errorf("the third batch was started\n%s", r)
	}
	if !strings.Contains(r.stdout, "app-h2: syntax error in /srv/app-h2.conf") {
		t.Errorf("the failing restart's reason is not shown\n%s", r)
	}
	want := map[int][2]string{
		1: {"version 2", "2"},       // canary: converged, restarted
		2: {"version 2\ntypo", "1"}, // broken: written, restart failed
		3: {"version 2", "2"},       // second batch, healthy
		4: {"version 2\ntypo", "1"}, // broken
	}
	for n := 5; n <= 9; n++ {
		want[n] = [2]string{"version 1", "1"} // never touched
	}
	for n := 1; n <= 9; n++ {
		conf, starts := f.config(t, n)
		if got := [2]string{conf, starts}; got != want[n] {
			t.Errorf("h%d on its container: config %q, %s starts; want %q, %s", n, conf, starts, want[n][0], want[n][1])
		}
	}

	// The same run as JSON names the batches and the hosts left alone.
	r = f.apply(t, "--batch", "1,3,100%", "--max-fail", "1", "-o", "json")
	var rep struct {
		ExitCode int `json:"exitCode"`
		Rollout  struct {
			Batches   [][]string `json:"batches"`
			Stopped   bool       `json:"stopped"`
			Failed    int        `json:"failed"`
			Untouched []string   `json:"untouched"`
		} `json:"rollout"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, r)
	}
	if wantB := [][]string{{"h1"}, {"h2", "h3", "h4"}, {"h5", "h6", "h7", "h8", "h9"}}; rep.ExitCode != 3 || !rep.Rollout.Stopped ||
		!reflect.DeepEqual(rep.Rollout.Batches, wantB) || !reflect.DeepEqual(rep.Rollout.Untouched, []string{"h5", "h6", "h7", "h8", "h9"}) {
		t.Errorf("json rollout = %+v (exit %d)", rep.Rollout, rep.ExitCode)
	}

	// The typo fixed, but the first container (h1, h4, h7) down: the
	// unreachable canary is within the budget, the unreachable h4 of the
	// second batch spends it, so nothing is acted on.
	f.write(t, "version 3\n")
	f.containers[0].Stop(t)
	r = f.apply(t, "--batch", "1,3,100%", "--max-fail", "1")
	if r.code != 3 || !strings.Contains(r.stdout, "stopped: 2 of 9 hosts failed (budget 1)") ||
		!strings.Contains(r.stdout, "never touched: h2, h3, h5, h6, h8, h9") {
		t.Errorf("apply with the canary's container stopped: want exit 3, stopped with h1 and h4 failed\n%s", r)
	}
	for _, n := range []int{2, 3, 5, 6, 8, 9} {
		if conf, _ := f.config(t, n); strings.HasPrefix(conf, "version 3") {
			t.Errorf("h%d was acted on after the budget was spent", n)
		}
	}

	// Everything back: the fixed change rolls out to all nine.
	f.containers[0].Start(t)
	f.write(t, "version 3\n")
	if r := f.apply(t, "--batch", "1,3,100%"); r.code != 0 {
		t.Fatalf("apply of the fix: %s", r)
	}
	for n := 1; n <= 9; n++ {
		if conf, _ := f.config(t, n); conf != "version 3" {
			t.Errorf("h%d: config %q after the fix", n, conf)
		}
		if out := f.container(n).Exec(t, fmt.Sprintf("/etc/init.d/app-h%d status && echo up", n)); out != "up\n" {
			t.Errorf("h%d: service not running after the fix", n)
		}
	}
}
