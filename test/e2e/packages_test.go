package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/test/testhost"
)

// fivePackages are five Package resources, one of which names a package no
// repository has, and a Service that needs only the four others. The
// packages come first so that the engine merges them into one transaction.
const fivePackages = `apiVersion: optimus.dev/v1alpha1
kind: Package
metadata: {name: optimus-alpha}
---
apiVersion: optimus.dev/v1alpha1
kind: Package
metadata: {name: optimus-beta}
---
apiVersion: optimus.dev/v1alpha1
kind: Package
metadata: {name: optimus-no-such-package}
---
apiVersion: optimus.dev/v1alpha1
kind: Package
metadata: {name: optimus-gamma}
---
apiVersion: optimus.dev/v1alpha1
kind: Package
metadata: {name: optimus-webd}
---
apiVersion: optimus.dev/v1alpha1
kind: Service
metadata: {name: optimus-webd}
spec:
  dependsOn:
    - {kind: Package, name: optimus-alpha}
    - {kind: Package, name: optimus-beta}
    - {kind: Package, name: optimus-gamma}
`

// tinyDebs adds optimus-alpha, -beta and -gamma to the repository webdRepo
// then indexes with optimus-webd.
const tinyDebs = `set -e
R=/srv/optimus-repo; mkdir -p $R
for n in optimus-alpha optimus-beta optimus-gamma; do
	b=$(mktemp -d); mkdir -p $b/DEBIAN $b/usr/share/$n
	printf 'Package: %s\nVersion: 1.0\nArchitecture: all\nMaintainer: optimus tests <t@example.com>\nDescription: optimus test package\n' $n >$b/DEBIAN/control
	echo 1.0 >$b/usr/share/$n/version
	dpkg-deb --root-owner-group --build $b $R/${n}_1.0_all.deb >/dev/null; rm -rf $b
done
`

// TestUnknownPackageFailsOnlyItself applies five Package resources, one of
// them unknown to apt, merged into one transaction that apt refuses: the
// four good packages are installed all the same, the unknown one fails with
// apt's own message, and the Service that needs only the four is started.
func TestUnknownPackageFailsOnlyItself(t *testing.T) {
	h := testhost.Start(t, 1)[0]
	h.Exec(t, "cat >/tmp/repo.sh <<'EOF'\n"+tinyDebs+webdRepo+"EOF\nsh /tmp/repo.sh")
	dir := t.TempDir()
	hostsManifest(t, dir, []*testhost.Host{h})
	writeFile(t, filepath.Join(dir, "packages.yaml"), fivePackages)

	r := run(t, nil, "apply", "-f", dir, "--yes", "-o", "json")
	var rep struct {
		Plans []struct {
			Hosts []struct {
				Actions []struct {
					Resource, Description, Status, Error string
				}
			}
		}
		Hosts []struct {
			State      string
			RoundTrips int
			Reason     string
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Plans) != 1 || len(rep.Plans[0].Hosts) != 1 || len(rep.Hosts) != 1 {
		t.Fatalf("json output: %v\n%s", err, r)
	}
	if r.code != 3 {
		t.Errorf("apply: exit %d, want 3 (a host failed)\n%s", r.code, r)
	}
	// Observe, the one transaction, then each package alone: the retry
	// only happens because the transaction was one.
	if hr := rep.Hosts[0]; hr.RoundTrips != 3 || hr.State != "failed" {
		t.Errorf("host %s in %d round trips, want failed in 3 (observe, merged act, retry)", hr.State, hr.RoundTrips)
	}
	status := map[string]string{}
	for _, a := range rep.Plans[0].Hosts[0].Actions {
		status[a.Resource] = a.Status
		if a.Resource == "Package/optimus-no-such-package" &&
			!strings.Contains(a.Error, "Unable to locate package optimus-no-such-package") {
			t.Errorf("the unknown package failed without apt's message: %q", a.Error)
		}
	}
	want := map[string]string{
		"Package/optimus-alpha": "ok", "Package/optimus-beta": "ok", "Package/optimus-gamma": "ok", "Package/optimus-webd": "ok",
		"Package/optimus-no-such-package": "failed", "Service/optimus-webd": "ok",
	}
	for ref, st := range want {
		if status[ref] != st {
			t.Errorf("%s: %q, want %q\n%s", ref, status[ref], st, r)
		}
	}
	got := h.Exec(t, `for p in optimus-alpha optimus-beta optimus-gamma optimus-webd optimus-no-such-package; do
	dpkg -s $p 2>/dev/null | grep '^Status:' || echo "$p: not installed"; done
service optimus-webd status && echo running`)
	wantHost := strings.Repeat("Status: install ok installed\n", 4) + "optimus-no-such-package: not installed\nrunning\n"
	if got != wantHost {
		t.Errorf("host after apply:\n%s\nwant:\n%s", got, wantHost)
	}

	// The terminal says the same: the unknown package, apt's message.
	r = run(t, nil, "apply", "-f", dir, "--yes")
	if r.code != 3 || !strings.Contains(r.stdout+r.stderr, "exit status 100: E: Unable to locate package optimus-no-such-package") {
		t.Errorf("second apply: want exit 3 with apt's message\n%s", r)
	}
	for _, good := range []string{"optimus-alpha", "optimus-beta", "optimus-gamma"} {
		if strings.Contains(r.stdout, "install package "+good) {
			t.Errorf("second apply installs %s again:\n%s", good, r)
		}
	}
}
