package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/test/testhost"
)

// mountKinds mounts a tmpfs and a bind mount and names the host, on a host
// that grants CAP_SYS_ADMIN.
const mountKinds = `apiVersion: optimus.dev/v1alpha1
kind: Mount
metadata: {name: cache}
spec: {path: /srv/cache, source: tmpfs, fstype: tmpfs, options: "size=16m,mode=1777"}
---
apiVersion: optimus.dev/v1alpha1
kind: Directory
metadata: {name: data}
spec: {path: /srv/data}
---
apiVersion: optimus.dev/v1alpha1
kind: Mount
metadata: {name: data}
spec:
  path: /mnt/data
  source: /srv/data
  fstype: none
  options: bind
  dependsOn: [{kind: Directory, name: data}]
---
apiVersion: optimus.dev/v1alpha1
kind: Hostname
metadata: {name: web-capable}
`

// mountsRemoved unmounts the tmpfs but keeps its fstab entry, and removes
// the bind mount.
const mountsRemoved = `apiVersion: optimus.dev/v1alpha1
kind: Mount
metadata: {name: cache}
spec: {path: /srv/cache, source: tmpfs, fstype: tmpfs, options: "size=16m,mode=1777", state: unmounted}
---
apiVersion: optimus.dev/v1alpha1
kind: Mount
metadata: {name: data}
spec: {path: /mnt/data, state: absent}
`

// mountState is what the kernel and fstab say of both mounts, the live and
// persisted host names (fstab lines sorted: a repaired line moves to the
// end), and whether a file written through the bind mount
// lands in its source.
const mountState = `awk '$2 == "/srv/cache" || $2 == "/mnt/data" { print "fstab:", $0 }' /etc/fstab | sort
awk '$2 == "/srv/cache" { print "mounted:", $1, $2, $3, ($4 ~ /size=16384k/ ? "16m" : $4) } $2 == "/mnt/data" { print "mounted:", $2 }' /proc/self/mounts
echo hostname: $(hostname) $(cat /etc/hostname)
if mountpoint -q /mnt/data; then echo through >/mnt/data/probe; cat /srv/data/probe; rm /mnt/data/probe; fi`

// TestMountCapable converges Mount's mounted state (a tmpfs and a bind
// mount) and the running host name on a host with CAP_SYS_ADMIN: a second
// apply is a no-op, unmounting by hand or editing fstab is repaired, and
// unmounted or absent undo the mounts.
func TestMountCapable(t *testing.T) {
	h := testhost.StartWith(t, 1, testhost.CapSysAdmin...)[0]
	dir := t.TempDir()
	hostsManifest(t, dir, []*testhost.Host{h})
	writeFile(t, filepath.Join(dir, "kinds.yaml"), mountKinds)

	r := run(t, nil, "apply", "-f", dir, "--yes", "-o", "json")
	if rep := decodeReport(t, r); r.code != 0 || !rep.Converged {
		t.Fatalf("apply: %s", r)
	}
	want := "fstab: /srv/data /mnt/data none bind 0 0\nfstab: tmpfs /srv/cache tmpfs size=16m,mode=1777 0 0\n" +
		"mounted: tmpfs /srv/cache tmpfs 16m\nmounted: /mnt/data\nhostname: web-capable web-capable\nthrough\n"
	if got := h.Exec(t, mountState); got != want {
		t.Fatalf("after apply:\n%s\nwant:\n%s", got, want)
	}

	r = run(t, nil, "apply", "-f", dir, "--yes", "-o", "json")
	rep := decodeReport(t, r)
	if hr := rep.Hosts[0]; r.code != 0 || len(rep.Plans) != 0 || hr.RoundTrips != 1 {
		t.Errorf("second apply: want a no-op in 1 round trip\n%s", r)
	}
	if r = run(t, nil, "diff", "-f", dir); r.code != 0 || strings.Contains(r.stdout, "note:") {
		t.Errorf("diff after apply: want exit 0 and no note\n%s", r)
	}

	// Unmounted by hand and the host renamed: both are remounted and
	// renamed back.
	h.Exec(t, "umount /srv/cache /mnt/data && hostname other")
	r = run(t, nil, "diff", "-f", dir)
	for _, ref := range []string{"Mount/cache", "Mount/data", "Hostname/web-capable"} {
		if r.code != 1 || !strings.Contains(r.stdout, ref) {
			t.Errorf("diff after umount does not show %s (exit %d):\n%s", ref, r.code, r)
		}
	}
	if r = run(t, nil, "apply", "-f", dir, "--yes"); r.code != 0 {
		t.Fatalf("apply after umount: %s", r)
	}
	if got := h.Exec(t, mountState); got != want {
		t.Errorf("after umount repaired:\n%s\nwant:\n%s", got, want)
	}

	// An fstab entry edited: the line is restored and the tmpfs remounted
	// with the options of the manifest, not those of the edit.
	h.Exec(t, "sed -i 's/size=16m/size=1g/' /etc/fstab && mount -o remount,size=1g /srv/cache")
	if r = run(t, nil, "apply", "-f", dir, "--yes"); r.code != 0 {
		t.Fatalf("apply after fstab edit: %s", r)
	}
	if got := h.Exec(t, mountState); got != want {
		t.Errorf("after fstab edit repaired:\n%s\nwant:\n%s", got, want)
	}

	writeFile(t, filepath.Join(dir, "kinds.yaml"), mountsRemoved)
	if r = run(t, nil, "apply", "-f", dir, "--yes"); r.code != 0 {
		t.Fatalf("apply unmounted/absent: %s", r)
	}
	want = "fstab: tmpfs /srv/cache tmpfs size=16m,mode=1777 0 0\nhostname: web-capable web-capable\n"
	if got := h.Exec(t, mountState); got != want {
		t.Errorf("after unmounted/absent:\n%s\nwant:\n%s", got, want)
	}
	if r = run(t, nil, "diff", "-f", dir); r.code != 0 {
		t.Errorf("diff after unmounted/absent: %s", r)
	}
}
