package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
		got := h.Exec(t, `stat -c '%a %U' /var/lib/optimus /var/lib/optimus/webfleet.inventory; cut -f1-4 /var/lib/optimus/webfleet.inventory | grep -v '^#' | sort`)
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
		if got := h.Exec(t, "grep -c '^resource' /var/lib/optimus/webfleet.inventory || true"); strings.TrimSpace(got) != "0" {
			t.Fatalf("%s inventory still lists %s resources", h.Name, got)
		}
	}
	r = run(t, nil, "apply", "-f", dir, "--prune", "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "Nothing to do") || strings.Contains(r.stdout, "Left the manifests") {
		t.Fatalf("apply --prune after pruning: %s", r)
	}
}
