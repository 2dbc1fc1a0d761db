package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/test/testhost"
	"github.com/optimus-cm/optimus/transport"
)

// hostileSetup makes mallory, an ordinary user who owns her home and
// /srv/mallory, on h.
func hostileSetup(t *testing.T, h *testhost.Host) {
	t.Helper()
	h.Exec(t, "useradd -m -s /bin/sh mallory && mkdir /srv/mallory && chown mallory: /srv/mallory && rm -f /home/mallory/.profile")
}

func doc(kind, name, spec string) string {
	return fmt.Sprintf("---\napiVersion: optimus.dev/v1alpha1\nkind: %s\nmetadata: {name: %s}\nspec:\n%s", kind, name, spec)
}

const malloryKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBGmYr9wLDJ3sTk7Gv5j1X9h1f0bD8mJm1xXc3Ew2n1J mallory@laptop"

// TestHostileUser: an unprivileged user plants symbolic links, hard links
// and FIFOs at every path the manifests manage in her home and in a
// directory she owns. Every resource that would act through them fails and
// says what it found, and nothing root owns changes: checked from outside
// with docker exec.
func TestHostileUser(t *testing.T) {
	hosts := testhost.Start(t, 1)
	h := hosts[0]
	hostileSetup(t, h)
	h.ExecAs(t, "mallory", `cd /home/mallory
ln -s /root/.ssh .ssh
ln -s /etc/shadow notes.txt
ln -s /etc/sudoers.d .config
ln -s /etc/sudoers.d/deploy .profile
mkfifo pipe.conf
ln -s /root/.ssh /srv/mallory/sub
mkfifo /srv/mallory/fifo`)
	// A host without fs.protected_hardlinks lets a user link to root's
	// files; plant those links as root to stand for one.
	h.Exec(t, "ln /etc/shadow /srv/mallory/app.conf && ln /etc/shadow /home/mallory/hl.txt")
	before := h.TakeSnapshot(t, testhost.RootOwnedScript)

	refused := []struct{ manifest, found string }{
		{doc("AuthorizedKey", "mallory", "  user: mallory\n  key: "+malloryKey+"\n"),
			"/home/mallory/.ssh is a symbolic link to /root/.ssh owned by mallory; refusing to follow it"},
		{doc("File", "notes", "  path: /home/mallory/notes.txt\n  owner: mallory\n  content: \"notes\\n\"\n"),
			"/home/mallory/notes.txt is a symbolic link to /etc/shadow, not a regular file"},
		{doc("Directory", "config", "  path: /home/mallory/.config\n  owner: mallory\n  mode: \"0700\"\n"),
			"/home/mallory/.config is a symbolic link to /etc/sudoers.d, not a directory"},
		{doc("LineInFile", "profile", "  path: /home/mallory/.profile\n  line: umask 077\n"),
			"/home/mallory/.profile is a symbolic link to /etc/sudoers.d/deploy, not a regular file"},
		{doc("LineInFile", "pipe", "  path: /home/mallory/pipe.conf\n  line: x=1\n"),
			"/home/mallory/pipe.conf is a special file, not a regular file"},
		{doc("BlockInFile", "profile-block", "  path: /home/mallory/.profile\n  block: umask 077\n  create: true\n"),
			"/home/mallory/.profile is a symbolic link to /etc/sudoers.d/deploy, not a regular file"},
		{doc("File", "sub", "  path: /srv/mallory/sub/authorized_keys\n  content: \""+malloryKey+"\\n\"\n"),
			"/srv/mallory/sub is a symbolic link to /root/.ssh owned by mallory; refusing to follow it"},
		{doc("File", "fifo", "  path: /srv/mallory/fifo\n  content: x\n"),
			"/srv/mallory/fifo is a special file, not a regular file"},
		{doc("File", "hardlink", "  path: /srv/mallory/app.conf\n  mode: \"0644\"\n"),
			"/srv/mallory/app.conf has 3 hard links (owned by root); refusing to change its mode or owner"},
		{doc("File", "rootfile", "  path: /home/mallory/rootfile\n  owner: root\n  content: x\n"),
			"/home/mallory/rootfile cannot be owned by root: /home/mallory is controlled by mallory"},
		{doc("Symlink", "link", "  path: /srv/mallory/sub/id_ed25519\n  target: /etc/shadow\n"),
			"/srv/mallory/sub is a symbolic link to /root/.ssh owned by mallory; refusing to follow it"},
	}
	for i, c := range refused {
		dir := t.TempDir()
		hostsManifest(t, dir, hosts)
		writeFile(t, filepath.Join(dir, "case.yaml"), c.manifest)
		for _, cmd := range []string{"apply", "diff"} {
			args := []string{cmd, "-f", dir}
			if cmd == "apply" {
				args = append(args, "--yes")
			}
			r := run(t, nil, args...)
			if r.code < 2 || !strings.Contains(r.stdout+r.stderr, c.found) {
				t.Errorf("case %d: %s should fail and say %q\n%s", i, cmd, c.found, r)
			}
		}
	}

	// A link that only replaces a name in mallory's own home is harmless:
	// the new content goes to a new file and the link's target is untouched.
	dir := t.TempDir()
	hostsManifest(t, dir, hosts)
	writeFile(t, filepath.Join(dir, "ok.yaml"), doc("File", "hl", "  path: /home/mallory/hl.txt\n  owner: mallory\n  content: \"hello\\n\"\n"))
	if r := run(t, nil, "apply", "-f", dir, "--yes"); r.code != 0 {
		t.Errorf("apply over a hard link in mallory's home: %s", r)
	}
	if got := h.Exec(t, "stat -c '%U %h' /home/mallory/hl.txt; cat /home/mallory/hl.txt"); got != "mallory 1\nhello\n" {
		t.Errorf("hl.txt: %q", got)
	}

	// hl.txt was a name of /etc/shadow and is now mallory's own file; every
	// other root-owned path, /etc/shadow included, must be as it was.
	after := h.TakeSnapshot(t, testhost.RootOwnedScript)
	var changed []string
	for _, l := range before.Diff(after) {
		if !strings.Contains(l, "/home/mallory/hl.txt") {
			changed = append(changed, l)
		}
	}
	if len(changed) != 0 {
		t.Errorf("root-owned files changed:\n%s", strings.Join(changed, "\n"))
	}
}

// TestGuardWhenActing: what observe saw may be swapped before the action
// runs. The guard in every writing script checks again, and acts as the
// user who controls the path, so a swap made after observe still reaches
// nothing of root's.
func TestGuardWhenActing(t *testing.T) {
	hosts := testhost.Start(t, 1)
	h := hosts[0]
	hostileSetup(t, h)
	h.ExecAs(t, "mallory", "mkdir /home/mallory/.ssh /srv/mallory/d")
	before := h.TakeSnapshot(t, testhost.RootOwnedScript)
	conn, err := transport.Dial(context.Background(), h.Resource())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Scripts as the reconcilers plan them while the directories were real.
	scripts := []struct {
		name, script string
		stdin        []byte
	}{
		{"write", reconcilers.AtomicWriteScript("/srv/mallory/d/sudo", "0440", "mallory"), []byte("mallory ALL=(ALL) NOPASSWD: ALL\n")},
		{"chmod", reconcilers.AttributesScript("/srv/mallory/d/deploy", "0666", ""), nil},
		{"mkdir", reconcilers.MkdirScript("/srv/mallory/d/new", "0777", ""), nil},
		{"delete", reconcilers.GuardedCommand("/srv/mallory/d/deploy", "rm", "-f", "--", "/srv/mallory/d/deploy"), nil},
	}
	// Now mallory swaps the directory for a link to /etc/sudoers.d.
	h.ExecAs(t, "mallory", "rmdir /srv/mallory/d && ln -s /etc/sudoers.d /srv/mallory/d")
	for _, s := range scripts {
		res, err := conn.Batch(context.Background(), []transport.Command{{Script: s.script, Stdin: s.stdin}})
		if err != nil {
			t.Fatal(err)
		}
		want := "/srv/mallory/d is a symbolic link to /etc/sudoers.d owned by mallory; refusing to follow it"
		if res[0].ExitCode == 0 || !strings.Contains(string(res[0].Stderr), want) {
			t.Errorf("%s: exit %d, stderr %q; want a refusal saying %q", s.name, res[0].ExitCode, res[0].Stderr, want)
		}
	}
	// Under a directory mallory owns, writing runs as mallory: a link she
	// plants deeper, which the walk does not stop at (it is hers), leads
	// nowhere she cannot write herself.
	h.ExecAs(t, "mallory", "rm /srv/mallory/d && mkdir /srv/mallory/d && ln -s /etc /srv/mallory/d/etc")
	res, err := conn.Batch(context.Background(), []transport.Command{{Script: reconcilers.AtomicWriteScript("/srv/mallory/d/etc/x", "0644", ""), Stdin: []byte("x")}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].ExitCode == 0 {
		t.Errorf("writing through mallory's link to /etc succeeded")
	}
	conn.Close()
	after := h.TakeSnapshot(t, testhost.RootOwnedScript)
	if d := before.Diff(after); len(d) != 0 {
		t.Errorf("root-owned files changed:\n%s", strings.Join(d, "\n"))
	}
}

// TestBindMountedFiles: /etc/hosts and /etc/resolv.conf are bind mounts in
// containers, which rename cannot replace: Optimus writes them in place,
// says so, and the second run changes nothing.
func TestBindMountedFiles(t *testing.T) {
	hosts := testhost.Start(t, 1)
	h := hosts[0]
	dir := t.TempDir()
	hostsManifest(t, dir, hosts)
	writeFile(t, filepath.Join(dir, "etc.yaml"),
		doc("LineInFile", "hosts", "  path: /etc/hosts\n  line: 10.9.8.7 optimus-db\n")+
			doc("File", "resolv", "  path: /etc/resolv.conf\n  content: \"nameserver 10.9.8.1\\noptions ndots:1\\n\"\n  mode: \"0644\"\n"))
	r := run(t, nil, "apply", "-f", dir, "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "add a line to /etc/hosts (in place: it is a mount point") ||
		!strings.Contains(r.stdout, "update content of file /etc/resolv.conf (in place: it is a mount point") {
		t.Fatalf("apply should write both in place and say so:\n%s", r)
	}
	if got := h.Exec(t, "grep -c '^10.9.8.7 optimus-db$' /etc/hosts; cat /etc/resolv.conf; mountpoint -q /etc/hosts && mountpoint -q /etc/resolv.conf && echo mounted"); got != "1\nnameserver 10.9.8.1\noptions ndots:1\nmounted\n" {
		t.Errorf("on the host: %q", got)
	}
	if again := run(t, nil, "apply", "-f", dir, "--yes"); again.code != 0 || !strings.Contains(again.stdout, "Nothing to do") {
		t.Errorf("second apply is not a no-op:\n%s", again)
	}
	if d := run(t, nil, "diff", "-f", dir); d.code != 0 {
		t.Errorf("diff after apply:\n%s", d)
	}
}

// TestHostileRace: while Optimus applies, mallory keeps swapping her ~/.ssh
// and a directory she owns between a real directory and a link to root's
// directories (a bounded loop). Whatever each apply meets, nothing root owns
// changes.
func TestHostileRace(t *testing.T) {
	hosts := testhost.Start(t, 1)
	h := hosts[0]
	hostileSetup(t, h)
	before := h.TakeSnapshot(t, testhost.RootOwnedScript)
	dir := t.TempDir()
	hostsManifest(t, dir, hosts)
	writeFile(t, filepath.Join(dir, "race.yaml"),
		doc("AuthorizedKey", "mallory", "  user: mallory\n  key: "+malloryKey+"\n")+
			doc("File", "conf", "  path: /srv/mallory/d/sudo\n  content: \"mallory ALL=(ALL) NOPASSWD: ALL\\n\"\n  mode: \"0440\"\n"))
	h.ExecAs(t, "mallory", `cat >/tmp/race.sh <<'SH'
echo $$ >/tmp/race.pid
i=0
while [ $i -lt 200000 ]; do
	rm -rf /home/mallory/.ssh /srv/mallory/d; mkdir /home/mallory/.ssh /srv/mallory/d
	rm -rf /home/mallory/.ssh /srv/mallory/d; ln -s /root/.ssh /home/mallory/.ssh; ln -s /etc/sudoers.d /srv/mallory/d
	i=$((i + 1))
done
SH`)
	dockerOut(t, "exec", "-d", "-u", "mallory", h.Container, "sh", "/tmp/race.sh")
	defer h.Exec(t, "kill $(cat /tmp/race.pid) 2>/dev/null; true")
	outcomes := map[string]int{}
	for range 6 {
		r := run(t, nil, "apply", "-f", dir, "--yes", "--max-cycles", "2")
		switch {
		case r.code == 0:
			outcomes["converged"]++
		case strings.Contains(r.stdout+r.stderr, "refusing to follow it"):
			outcomes["refused"]++
		default:
			// A directory that vanished or appeared mid-action: a plain failure.
			outcomes["failed otherwise"]++
			t.Logf("apply failed while racing:\n%s", r.stdout)
		}
	}
	t.Logf("apply outcomes while racing: %v", outcomes)
	h.Exec(t, "kill $(cat /tmp/race.pid) 2>/dev/null; true")
	after := h.TakeSnapshot(t, testhost.RootOwnedScript)
	if d := before.Diff(after); len(d) != 0 {
		t.Errorf("root-owned files changed:\n%s", strings.Join(d, "\n"))
	}
}
