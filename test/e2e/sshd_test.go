package e2e

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/test/testhost"
)

// sshInit replaces the test host's init script for ssh. Its sshd is the
// container's main process, so a restart is sshd re-executing itself with
// the new configuration on SIGHUP (what the Debian script's reload does):
// the listener restarts and the sessions stay, as when a daemonised sshd is
// restarted. With /etc/optimus-test-cut-sessions present a restart also
// ends every SSH session, as restarting an sshd that is the main process
// does, which drops the connection the restart came by. Every restart is
// counted in /var/log/optimus-test-ssh.restarts.
const sshInit = `#!/bin/sh
case "$1" in
start) exit 0 ;;
status) kill -0 1 2>/dev/null ;;
restart|reload)
	/usr/sbin/sshd -t || exit 1
	echo restart >>/var/log/optimus-test-ssh.restarts
	kill -HUP 1
	if [ -e /etc/optimus-test-cut-sessions ]; then
		sleep 0.2
		pkill -9 -f 'sshd: root@'
	fi
	exit 0 ;;
*) exit 3 ;;
esac
`

// sshdManifest manages sshd over its own connection: a drop-in checked by
// sshd -t before it is installed, and a restart when it changes.
const sshdManifest = `apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: sshd-conf}
spec:
  path: /etc/ssh/sshd_config.d/50-optimus.conf
  content: "MaxAuthTries %s\nClientAliveInterval 30\n"
  mode: "0644"
  validate: /usr/sbin/sshd -t -f %%s
---
apiVersion: optimus.dev/v1alpha1
kind: Service
metadata: {name: ssh}
spec:
  restartOn: [{kind: File, name: sshd-conf}]
`

// TestManageSSHDOverItsOwnConnection configures and restarts sshd through
// the SSH connection it serves: a restart that keeps the session converges;
// a broken configuration is refused by validate and the old file kept; a
// restart that drops the session is survived: what finished is reported
// done, the rest unknown with one cause, the host is reconnected and
// observed again, and the run converges, without a protocol line in the
// output or the history, in a bounded output.
func TestManageSSHDOverItsOwnConnection(t *testing.T) {
	h := testhost.Start(t, 1)[0]
	h.Exec(t, "cat >/etc/init.d/ssh <<'INIT'\n"+sshInit+"INIT\nchmod 755 /etc/init.d/ssh")
	dir, state := t.TempDir(), t.TempDir()
	hostsManifest(t, dir, []*testhost.Host{h})
	manifest := filepath.Join(dir, "sshd.yaml")
	conf := func() string { return h.Exec(t, "cat /etc/ssh/sshd_config.d/50-optimus.conf 2>&1 || true") }
	restarts := func() string {
		return strings.TrimSpace(h.Exec(t, "grep -c restart /var/log/optimus-test-ssh.restarts || true"))
	}
	apply := func() result { return run(t, nil, "apply", "-f", dir, "--yes", "--state-dir", state) }

	// A restart that keeps the session: the normal case.
	writeFile(t, manifest, fmt.Sprintf(sshdManifest, "4"))
	if r := apply(); r.code != 0 || restarts() != "1" || conf() != "MaxAuthTries 4\nClientAliveInterval 30\n" {
		t.Fatalf("first apply (restarts %s, conf %q): %s", restarts(), conf(), r)
	}
	if r := apply(); r.code != 0 || !strings.Contains(r.stdout, "Nothing to do") || restarts() != "1" {
		t.Fatalf("second apply (restarts %s): %s", restarts(), r)
	}

	// A broken configuration: sshd -t refuses it, nothing changes.
	writeFile(t, manifest, fmt.Sprintf(sshdManifest, "four"))
	r := apply()
	if r.code != 3 || !strings.Contains(r.stdout, "rejected the new content") || conf() != "MaxAuthTries 4\nClientAliveInterval 30\n" || restarts() != "1" {
		t.Fatalf("broken config (restarts %s, conf %q): %s", restarts(), conf(), r)
	}

	// A restart that drops the session the run acts through.
	h.Exec(t, "touch /etc/optimus-test-cut-sessions")
	writeFile(t, manifest, fmt.Sprintf(sshdManifest, "5"))
	r = apply()
	if r.code != 0 || conf() != "MaxAuthTries 5\nClientAliveInterval 30\n" || restarts() != "2" {
		t.Fatalf("apply through a restart that drops the session (restarts %s, conf %q): %s", restarts(), conf(), r)
	}
	out := r.stdout + r.stderr
	for _, want := range []string{
		"File/sshd-conf: ", "... ok",
		"connection lost:",
		"observed again: 1 action found done",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`Service/ssh: restart service ssh[^\n]* \.\.\. unknown\n`).MatchString(out) {
		t.Errorf("the restart is not reported unknown:\n%s", out)
	}
	if n := strings.Count(out, "connection lost:"); n != 1 {
		t.Errorf("the lost connection is told %d times, want once:\n%s", n, out)
	}
	if strings.Contains(out, "... FAILED") {
		t.Errorf("an action is reported failed:\n%s", out)
	}
	if n := strings.Count(out, "\n"); n >= 100 {
		t.Errorf("%d lines of output for one host:\n%s", n, out)
	}
	if strings.Contains(out, "OPTIMUS-") {
		t.Errorf("protocol bytes in the output:\n%s", out)
	}
	hist := run(t, nil, "history", "--state-dir", state)
	if hist.code != 0 || strings.Contains(hist.stdout+hist.stderr, "OPTIMUS-") {
		t.Errorf("history: %s", hist)
	}
	// Every file of the state directory, the database and its journal.
	read := 0
	err := filepath.WalkDir(state, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		read += len(b)
		if strings.Contains(string(b), "OPTIMUS-") {
			t.Errorf("protocol bytes in the history database (%s)", path)
		}
		return nil
	})
	if err != nil || read == 0 {
		t.Fatalf("no history read in %s: %v", state, err)
	}
	if !strings.Contains(hist.stdout, "apply") {
		t.Errorf("the history lists no apply:\n%s", hist.stdout)
	}
	// Once more: nothing owed, nothing restarted.
	if r := apply(); r.code != 0 || !strings.Contains(r.stdout, "Nothing to do") || restarts() != "2" {
		t.Fatalf("apply after the dropped session (restarts %s): %s", restarts(), r)
	}
	t.Logf("apply through a dropped session:\n%s", out)
}
