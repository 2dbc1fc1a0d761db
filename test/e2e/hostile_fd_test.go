package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/test/testhost"
)

// forgedLines are what a user who kept a descriptor of root's shell would
// write to pass for the results of root's queries: an inventory listing a
// root directory and a root file as managed (so that --prune deletes them),
// and frames of the shapes other queries print.
const forgedLines = `resource	Directory	x	managed	{"path":"/opt/victim","force":true}
resource	File	y	managed	{"path":"/etc/victim.conf"}
mallory	ok	/home/mallory
`

// grabber runs as mallory for the whole test: every few milliseconds it
// takes, with pidfd_getfd (no ptrace, no shared ancestry needed), the
// standard output and error of every other process of hers and writes
// forgedLines into them for four seconds, long after most of those
// processes have ended. Optimus starts processes as mallory (an Exec with
// user, the write of a file in her home, the read of her authorized_keys):
// whatever descriptors they have, she has too.
const grabber = `import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
me, uid, kept, seen, grabbed = os.getpid(), os.getuid(), {}, set(), 0
forged = open("/tmp/forged").read().encode()
end = time.time() + float(sys.argv[1])
while time.time() < end:
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == me or p in seen:
            continue
        try:
            if os.stat("/proc/" + p).st_uid != uid:
                continue
            pfd = os.pidfd_open(int(p))
        except OSError:
            continue
        seen.add(p)
        for fd in (1, 2):
            n = libc.syscall(438, pfd, fd, 0)
            if n >= 0:
                kept[n] = time.time() + 4
                grabbed += 1
        os.close(pfd)
    for fd, until in list(kept.items()):
        try:
            if time.time() > until:
                raise OSError
            os.write(fd, forged)
        except OSError:
            os.close(fd)
            del kept[fd]
    with open("/tmp/grabbed", "w") as f:
        print(grabbed, file=f)
    time.sleep(0.01)
`

// TestKeptDescriptors: processes Optimus runs as a user (and their
// background children) keep their output descriptors, and the user takes
// more with pidfd_getfd, then writes forged query and inventory lines into
// them during later runs. Nothing forged is believed: --prune removes only
// what Optimus created, and root's directory and file stay.
func TestKeptDescriptors(t *testing.T) {
	hosts := testhost.Start(t, 1)
	h := hosts[0]
	hostileSetup(t, h)
	h.Exec(t, "mkdir -p /opt/victim && echo keep >/opt/victim/data && echo secret >/etc/victim.conf && chmod 600 /etc/victim.conf")
	h.Exec(t, "cat >/tmp/forged <<'EOF'\n"+forgedLines+"EOF\nchmod 644 /tmp/forged")
	h.Exec(t, "cat >/tmp/grabber.py <<'EOF'\n"+grabber+"EOF\nchmod 644 /tmp/grabber.py")
	dockerOut(t, "exec", "-d", "-u", "mallory", h.Container, "python3", "/tmp/grabber.py", "120")
	defer h.Exec(t, "pkill -u mallory; true")

	dir := t.TempDir()
	hostsManifest(t, dir, hosts)
	// A background child of mallory's own command keeps its output and
	// writes forged lines for a while after the command has ended.
	keeper := `(i=0; while [ $i -lt 300 ]; do cat /tmp/forged; cat /tmp/forged >&2; sleep 0.05; i=$((i+1)); done) &`
	managed := func(round int) string {
		return doc("Directory", "managed", "  path: /srv/managed\n") +
			doc("Exec", "as-mallory", fmt.Sprintf("  user: mallory\n  command: %q\n  creates: /home/mallory/ran-%d\n", keeper+" touch /home/mallory/ran-"+fmt.Sprint(round), round)) +
			doc("File", "mallory-notes", fmt.Sprintf("  path: /home/mallory/notes\n  owner: mallory\n  content: \"round %d\\n\"\n", round)) +
			doc("AuthorizedKey", "mallory", "  user: mallory\n  key: "+malloryKey+"\n")
	}
	// What runs as her (reading her authorized_keys, writing her files)
	// she can disturb: that may fail her own resources, and nothing else.
	check := func(round int, r result) {
		t.Helper()
		if believed(r) {
			t.Fatalf("round %d: a forged line was believed:\n%s", round, r)
		}
		for _, l := range strings.Split(r.stdout, "\n") {
			if strings.Contains(l, "... FAILED") && !strings.Contains(l, "mallory") {
				t.Fatalf("round %d: a resource not of mallory's failed: %s", round, r)
			}
		}
		if r.code != 0 && r.code != 3 {
			t.Fatalf("round %d: %s", round, r)
		}
	}
	for round := range 4 {
		writeFile(t, filepath.Join(dir, "set.yaml"), managed(round))
		check(round, run(t, nil, "apply", "-f", dir, "--yes", "--prune"))
	}
	// Drop the managed directory from the set: prune removes it, and only
	// it, while the last Exec's child and the grabber are still writing.
	docs := strings.Split(managed(3), "---\n")
	writeFile(t, filepath.Join(dir, "set.yaml"), "---\n"+strings.Join(docs[2:], "---\n"))
	r := run(t, nil, "apply", "-f", dir, "--yes", "--prune")
	check(4, r)
	if !strings.Contains(r.stdout, "Directory/managed: delete directory /srv/managed") {
		t.Fatalf("prune did not remove the directory that left the manifests: %s", r)
	}
	if out := h.Exec(t, "cat /opt/victim/data /etc/victim.conf; stat -c '%U %a' /etc/victim.conf; [ ! -e /srv/managed ] && echo pruned"); out != "keep\nsecret\nroot 600\npruned\n" {
		t.Errorf("root's files after the runs: %q", out)
	}
	if out := strings.TrimSpace(h.Exec(t, "cat /tmp/grabbed")); out == "" || out == "0" {
		t.Fatalf("the grabber took no descriptor (%q): the test proves nothing", out)
	}
}

// believed reports whether a run acted on, or planned for, a resource that
// only the forged inventory lines name. (The lines themselves may show up
// as the content of mallory's own files, which she may write as she likes.)
func believed(r result) bool {
	for _, l := range strings.Split(r.stdout+r.stderr, "\n") {
		if strings.Contains(l, "Directory/x") || strings.Contains(l, "File/y") ||
			(strings.Contains(l, "victim") && (strings.Contains(l, "remove") || strings.Contains(l, "delete"))) {
			return true
		}
	}
	return false
}

// TestMissingComponentRace: mallory races to plant a symbolic link to a root
// directory, or a directory of her own, where a managed path has a missing
// component below sticky /tmp, while Optimus acts on it: a File, a
// Directory and a validated File, each applied 50 times from scratch. The
// guard never passes over a missing component, so no root-owned file
// appears outside the managed paths and no file of hers appears in a root
// directory, whoever wins each race.
func TestMissingComponentRace(t *testing.T) {
	hosts := testhost.Start(t, 1)
	h := hosts[0]
	hostileSetup(t, h)
	h.Exec(t, "mkdir -p /etc/victim.d && chmod 755 /etc/victim.d")
	h.ExecAs(t, "mallory", `cat >/tmp/race.sh <<'SH'
echo $$ >/tmp/race.pid
while :; do
	for d in /tmp/app /tmp/app2 /tmp/app3; do
		ln -s /etc/victim.d $d 2>/dev/null; rm -f $d 2>/dev/null
		mkdir $d 2>/dev/null; rmdir $d 2>/dev/null
		ln -s /etc/victim.d $d 2>/dev/null; rm -f $d 2>/dev/null
	done
done
SH`)
	dockerOut(t, "exec", "-d", "-u", "mallory", h.Container, "sh", "/tmp/race.sh")
	defer h.Exec(t, "pkill -u mallory; true")
	dir := t.TempDir()
	hostsManifest(t, dir, hosts)
	writeFile(t, filepath.Join(dir, "race.yaml"),
		doc("File", "app", "  path: /tmp/app/zz-app.sh\n  content: \"echo pwned\\n\"\n  mode: \"0755\"\n")+
			doc("Directory", "app2", "  path: /tmp/app2/sub\n")+
			doc("File", "app3", "  path: /tmp/app3/conf\n  content: \"x=1\\n\"\n  validate: \"grep -q x= %s\"\n"))
	before := h.TakeSnapshot(t, testhost.RootOwnedScript)
	outcomes := map[string]int{}
	for i := range 50 {
		// Root clears what the last round left, so that the components are
		// missing again; mallory's loop keeps racing throughout.
		h.Exec(t, "rm -rf /tmp/app /tmp/app2 /tmp/app3 2>/dev/null; true")
		r := run(t, nil, "apply", "-f", dir, "--yes", "--max-cycles", "1")
		switch r.code {
		case 0:
			outcomes["converged"]++
		case 3, 4:
			outcomes["failed"]++
		default:
			t.Fatalf("round %d: %s", i, r)
		}
		if out := h.Exec(t, "ls -A /etc/victim.d; find /etc /root /usr /var /srv -xdev -user mallory ! -path '/srv/mallory*' 2>/dev/null | head"); out != "" {
			t.Fatalf("round %d: after %s\nfound: %s", i, r, out)
		}
	}
	t.Logf("outcomes of 50 rounds while racing: %v", outcomes)
	h.Exec(t, "pkill -u mallory; rm -rf /tmp/app /tmp/app2 /tmp/app3; true")
	after := h.TakeSnapshot(t, testhost.RootOwnedScript)
	if d := before.Diff(after); len(d) != 0 {
		t.Errorf("root-owned files changed outside the managed paths:\n%s", strings.Join(d, "\n"))
	}
}
