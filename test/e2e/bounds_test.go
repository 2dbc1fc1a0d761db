package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/optimus-cm/optimus/test/testhost"
)

// escapes is what a hostile user or host writes where Optimus will show
// it: a retitled window, a cleared screen, a carriage return that
// overwrites the line with a fake verdict. In a shell's printf format.
const escapes = `\033]0;owned\007\033[2J\rALL GOOD`

// escaped is how Optimus shows it.
const escaped = `\x1b]0;owned\x07\x1b[2J\rALL GOOD`

// noRawEscapes fails when a raw ESC, BEL or CR from the host reached the
// terminal (the binary prints no colors when its output is not a TTY).
func noRawEscapes(t *testing.T, what string, r result) {
	t.Helper()
	for name, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
		if i := strings.IndexAny(out, "\x1b\x07\r"); i >= 0 {
			t.Errorf("%s: raw control character in %s at byte %d:\n%q", what, name, i, out)
		}
	}
}

// TestHostDataIsEscaped: escape sequences in a managed file's content, in
// a symbolic link's target and in the path a refusal names reach diff,
// apply, history show and run escaped; run --raw shows them as they are.
func TestHostDataIsEscaped(t *testing.T) {
	hosts := testhost.Start(t, 1)
	h := hosts[0]
	hostileSetup(t, h)
	h.Exec(t, fmt.Sprintf(`mkdir -p /srv/esc && printf '%s\n' >/srv/esc/motd`, escapes))
	h.ExecAs(t, "mallory", fmt.Sprintf(`cd /home/mallory && ln -s "$(printf '/tmp/%s')" notes.txt && ln -s "$(printf '/root/%s')" .ssh`, escapes, escapes))

	dir := t.TempDir()
	hostsManifest(t, dir, hosts)
	writeFile(t, filepath.Join(dir, "res.yaml"),
		doc("File", "motd", "  path: /srv/esc/motd\n  content: \"welcome\\n\"\n")+
			doc("File", "notes", "  path: /home/mallory/notes.txt\n  owner: mallory\n  content: \"notes\\n\"\n")+
			doc("AuthorizedKey", "mallory", "  user: mallory\n  key: "+malloryKey+"\n"))
	state := t.TempDir()

	r := optimusBin(t, "diff", "-f", dir, "--no-history")
	noRawEscapes(t, "diff", r)
	for _, want := range []string{
		"-" + escaped, // the file's current content, in the diff
		"/home/mallory/notes.txt is a symbolic link to /tmp/" + escaped,
		"/home/mallory/.ssh is a symbolic link to /root/" + escaped,
	} {
		if !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("diff: want %q\n%s", want, r)
		}
	}

	r = optimusBin(t, "apply", "-f", dir, "--yes", "--state-dir", state)
	noRawEscapes(t, "apply", r)
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "symbolic link to /tmp/"+escaped) {
		t.Errorf("apply: want the refusals, escaped, and a failure\n%s", r)
	}
	if got := h.Exec(t, "cat /srv/esc/motd"); got != "welcome\n" {
		t.Errorf("/srv/esc/motd = %q, want the manifest's content", got)
	}

	runs := listHistory(t, state)
	if len(runs) == 0 {
		t.Fatal("the apply was not recorded")
	}
	r = optimusBin(t, "history", "show", fmt.Sprint(runs[len(runs)-1].ID), "--state-dir", state)
	noRawEscapes(t, "history show", r)
	if !strings.Contains(r.stdout, "/home/mallory/.ssh is a symbolic link to /root/"+escaped) {
		t.Errorf("history show: want the refusal, escaped\n%s", r)
	}

	cmd := fmt.Sprintf(`printf '%s\n'; printf '%s\n' >&2`, escapes, escapes)
	r = optimusBin(t, "run", "-f", dir, "--", cmd)
	noRawEscapes(t, "run", r)
	if r.code != 0 || !strings.Contains(r.stdout, "] "+escaped) || !strings.Contains(r.stderr, "] "+escaped) {
		t.Errorf("run: want the output escaped\n%s", r)
	}
	r = optimusBin(t, "run", "-f", dir, "--raw", "--", cmd)
	if raw := "\x1b]0;owned\x07\x1b[2J\rALL GOOD"; r.code != 0 || !strings.Contains(r.stdout, raw) || !strings.Contains(r.stderr, raw) {
		t.Errorf("run --raw: want the output as the host printed it\n%s", r)
	}
}

// optimusRSS runs the optimus binary and returns its result and peak
// resident memory in MiB, as the kernel counted it.
func optimusRSS(t *testing.T, args ...string) (result, float64) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "optimus"), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("optimus %v: %v", args, err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errb.String()}, float64(ru.Maxrss) / 1024
}

// maxRSSMiB is a generous bound on a run's memory: the sparse files below
// are 300 MiB and 2 GiB, so a run that read either would exceed it.
const maxRSSMiB = 250

// TestHugeFilesAreNotRead: a user's 300 MiB sparse authorized_keys and a
// 2 GiB sparse file at a File's path (neither uses disk). The AuthorizedKey
// fails with a clear "too large" error on that host alone; the File
// replaces the huge file without reading it; everything else converges on
// both hosts; and optimus's peak memory stays far below the files' size.
func TestHugeFilesAreNotRead(t *testing.T) {
	hosts := testhost.Start(t, 2)
	big, small := hosts[0], hosts[1]
	for _, h := range hosts {
		h.Exec(t, "useradd -m -s /bin/sh alice && mkdir -m 700 /home/alice/.ssh && chown alice: /home/alice/.ssh && mkdir -p /srv/data")
	}
	big.ExecAs(t, "alice", "truncate -s 300M /home/alice/.ssh/authorized_keys")
	big.Exec(t, "truncate -s 2G /srv/data/blob")

	dir := t.TempDir()
	hostsManifest(t, dir, hosts)
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBGmYr9wLDJ3sTk7Gv5j1X9h1f0bD8mJm1xXc3Ew2n1J alice@laptop"
	writeFile(t, filepath.Join(dir, "res.yaml"),
		doc("AuthorizedKey", "alice", "  user: alice\n  key: "+key+"\n")+
			doc("File", "blob", "  path: /srv/data/blob\n  content: \"small now\\n\"\n")+
			doc("File", "motd", "  path: /etc/motd\n  content: \"managed\\n\"\n"))
	tooLarge := "/home/alice/.ssh/authorized_keys is 300 MiB, more than the 1 MiB Optimus reads"

	r, rss := optimusRSS(t, "diff", "-f", dir, "--no-history")
	t.Logf("optimus diff: peak RSS %.1f MiB", rss)
	if r.code != 2 || !strings.Contains(r.stdout+r.stderr, tooLarge) {
		t.Errorf("diff: want exit 2 and %q\n%s", tooLarge, r)
	}
	if !strings.Contains(r.stdout, "2 GiB, not read (larger than the 1 GiB Optimus checksums)") {
		t.Errorf("diff: want the 2 GiB file described without being read\n%s", r)
	}
	if rss > maxRSSMiB {
		t.Errorf("diff: peak RSS %.0f MiB, want under %d", rss, maxRSSMiB)
	}

	r, rss = optimusRSS(t, "apply", "-f", dir, "--yes", "--no-history")
	t.Logf("optimus apply: peak RSS %.1f MiB", rss)
	if r.code != 3 || !strings.Contains(r.stdout+r.stderr, tooLarge) {
		t.Errorf("apply: want exit 3 and %q\n%s", tooLarge, r)
	}
	if rss > maxRSSMiB {
		t.Errorf("apply: peak RSS %.0f MiB, want under %d", rss, maxRSSMiB)
	}
	for _, h := range hosts {
		if got := h.Exec(t, "cat /srv/data/blob /etc/motd"); got != "small now\nmanaged\n" {
			t.Errorf("%s: /srv/data/blob and /etc/motd hold %q", h.Name, got)
		}
	}
	if got := small.Exec(t, "cat /home/alice/.ssh/authorized_keys"); got != key+"\n" {
		t.Errorf("%s: authorized_keys = %q, want the key", small.Name, got)
	}
	if got := big.Exec(t, "stat -c %s /home/alice/.ssh/authorized_keys"); got != "314572800\n" {
		t.Errorf("%s: the huge authorized_keys was changed: size %q", big.Name, got)
	}
}
