package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/test/testhost"
)

// TestDiffWritesNothing: optimus diff on a host with pending work for every
// built-in kind leaves the whole filesystem as it was (outside /proc, /sys,
// /dev, /run and the login records), checked from outside with docker exec:
// no temporary directory, no script file, no cache refresh.
func TestDiffWritesNothing(t *testing.T) {
	hosts := testhost.Start(t, 1)
	h := hosts[0]
	dir := t.TempDir()
	hostsManifest(t, dir, hosts)
	writeFile(t, filepath.Join(dir, "all.yaml"),
		doc("Group", "obsgroup", "  gid: 4321\n")+
			doc("User", "obsuser", "  shell: /bin/sh\n  groups: [obsgroup]\n")+
			doc("File", "obsfile", "  path: /etc/optimus-obs.conf\n  content: \"a=1\\n\"\n  sensitive: true\n")+
			doc("Directory", "obsdir", "  path: /srv/optimus-obs\n  mode: \"0750\"\n")+
			doc("Symlink", "obslink", "  path: /etc/optimus-obs.link\n  target: /etc/hostname\n")+
			doc("LineInFile", "obsline", "  path: /etc/hosts\n  line: 10.1.2.3 optimus-obs\n")+
			doc("BlockInFile", "obsblock", "  path: /etc/optimus-obs-block.conf\n  create: true\n  block: a = 1\n")+
			doc("AuthorizedKey", "obskey", "  user: deploy\n  key: "+malloryKey+"\n")+
			doc("Package", "obspkg", "  names: [optimus-obs-missing-package]\n")+
			doc("Service", "ssh", "  state: stopped\n")+
			doc("Exec", "obsexec", "  command: touch /tmp/optimus-obs\n  unless: \"false\"\n"))
	before := h.TakeSnapshot(t, testhost.SnapshotScript)
	r := run(t, nil, "diff", "-f", dir)
	if r.code != 1 {
		t.Fatalf("diff should report pending work (exit 1):\n%s", r)
	}
	for _, kind := range []string{"Group/obsgroup", "User/obsuser", "File/obsfile", "Directory/obsdir", "Symlink/obslink",
		"LineInFile/obsline", "BlockInFile/obsblock", "AuthorizedKey/obskey", "Package/obspkg", "Service/ssh", "Exec/obsexec"} {
		if !strings.Contains(r.stdout, kind) {
			t.Errorf("the plan has nothing for %s:\n%s", kind, r)
		}
	}
	after := h.TakeSnapshot(t, testhost.SnapshotScript)
	if d := before.Diff(after); len(d) != 0 {
		t.Errorf("diff changed the host:\n%s", strings.Join(d, "\n"))
	}
}
