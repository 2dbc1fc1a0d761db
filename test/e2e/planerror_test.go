package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/test/testhost"
)

// TestPlanErrorFailsOneResource: a File whose path is an existing directory
// cannot be planned. It fails with its reason and the Exec that depends on
// it is skipped, while the host's other resources converge in the same
// apply, which exits 3 as for a failed action.
func TestPlanErrorFailsOneResource(t *testing.T) {
	hosts := testhost.Start(t, 1)
	h := hosts[0]
	h.Exec(t, "mkdir -p /srv/in-the-way")
	dir := t.TempDir()
	hostsManifest(t, dir, hosts)
	writeFile(t, filepath.Join(dir, "resources.yaml"), `apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: blocked}
spec: {path: /srv/in-the-way, content: "hello\n"}
---
apiVersion: optimus.dev/v1alpha1
kind: Exec
metadata: {name: after-blocked}
spec:
  command: touch /srv/after-blocked
  creates: /srv/after-blocked
  dependsOn: [{kind: File, name: blocked}]
---
apiVersion: optimus.dev/v1alpha1
kind: User
metadata: {name: planok}
spec: {shell: /bin/sh}
---
apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: fine}
spec: {path: /srv/fine.txt, content: "fine\n"}
`)
	r := run(t, nil, "apply", "-f", dir, "--yes")
	if r.code != 3 {
		t.Fatalf("want exit 3 (some failed)\n%s", r)
	}
	for _, want := range []string{"File/blocked", "is an empty directory, not a regular file", "Exec/after-blocked", "skipped", "FAILED"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q\n%s", want, r)
		}
	}
	if !users(t, h)["planok"] {
		t.Error("planok was not created: the plan error stopped the whole host")
	}
	if got := h.Exec(t, "cat /srv/fine.txt; test -d /srv/in-the-way && echo dir; test -e /srv/after-blocked && echo ran || true"); got != "fine\ndir\n" {
		t.Errorf("host state %q, want fine.txt written, the directory left alone, the Exec not run", got)
	}

	// The JSON report names the failed resource and the host's reason.
	r = run(t, nil, "apply", "-f", dir, "--yes", "-o", "json")
	if r.code != 3 {
		t.Fatalf("second apply: want exit 3\n%s", r)
	}
	var rep struct {
		Plans []struct {
			Hosts []struct {
				Actions []struct{ Resource, Status, Error string }
			}
		}
		Hosts []struct{ Host, State, Reason string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	if len(rep.Hosts) != 1 || rep.Hosts[0].State != "failed" || !strings.Contains(rep.Hosts[0].Reason, "plan File/blocked") {
		t.Errorf("hosts %+v", rep.Hosts)
	}
	if len(rep.Plans) != 1 || len(rep.Plans[0].Hosts) != 1 {
		t.Fatalf("plans %+v", rep.Plans)
	}
	got := map[string]string{}
	for _, a := range rep.Plans[0].Hosts[0].Actions {
		got[a.Resource] = a.Status
	}
	if got["File/blocked"] != "failed" || got["Exec/after-blocked"] != "skipped" || len(got) != 2 {
		t.Errorf("second apply: actions %v, want only the blocked File failed and its Exec skipped", got)
	}
}
