package service_test

import (
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/internal/testenv"
	"github.com/optimus-cm/optimus/reconcilers/file"
	"github.com/optimus-cm/optimus/reconcilers/service"
	"github.com/optimus-cm/optimus/reconcilertest"
	"github.com/optimus-cm/optimus/test/testhost"
	"github.com/optimus-cm/optimus/transport"
)

var pool = &testhost.Pool{N: 1}

func TestMain(m *testing.M) { testenv.Main(m, pool) }

// initScript is a tiny daemon: a shell loop with a pidfile, each start
// logged so that restarts can be counted.
const initScript = `#!/bin/sh
### BEGIN INIT INFO
# Provides:          optimus-tinyd
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: tiny test daemon
### END INIT INFO
P=/run/optimus-tinyd.pid
running() { [ -f $P ] && kill -0 "$(cat $P)" 2>/dev/null; }
case "$1" in
start) running && exit 0
	setsid sh -c 'while :; do sleep 1; done' </dev/null >/dev/null 2>&1 &
	echo $! >$P; echo start >>/var/log/optimus-tinyd.starts ;;
stop) running && kill "$(cat $P)"; rm -f $P ;;
restart) "$0" stop; "$0" start ;;
status) running ;;
*) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;
esac
`

// earlyScript is started in rcS.d, as Debian starts what every runlevel
// needs: it has no link in rc2.d, and is enabled all the same.
const earlyScript = `#!/bin/sh
### BEGIN INIT INFO
# Provides:          optimus-early
# Required-Start:
# Required-Stop:
# Default-Start:     S
# Default-Stop:
# Short-Description: early test service
### END INIT INFO
exit 0
`

func TestConformance(t *testing.T) {
	s, h := testenv.Suite(t, pool, service.Kind, file.Kind)
	h.Exec(t, "cat >/etc/init.d/optimus-tinyd <<'EOF'\n"+initScript+"EOF\nchmod 755 /etc/init.d/optimus-tinyd")
	h.Exec(t, "cat >/etc/init.d/optimus-early <<'EOF'\n"+earlyScript+"EOF\nchmod 755 /etc/init.d/optimus-early")
	doc := testenv.Header
	starts := func(t *testing.T, conn transport.Conn) string {
		return testenv.Sh(t, conn, "grep -c start /var/log/optimus-tinyd.starts")
	}
	reconcilertest.Run(t, s,
		reconcilertest.Case{
			Name:    "running and enabled (sysv)",
			Present: doc("Service", "optimus-tinyd") + "  enabled: true\n",
			Absent:  doc("Service", "optimus-tinyd") + "  state: stopped\n  enabled: false\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				if got := testenv.Sh(t, conn, "service optimus-tinyd status && echo up; ls /etc/rc2.d | grep -c '^S..optimus-tinyd'"); got != "up\n1\n" {
					t.Errorf("got %q", got)
				}
			},
			Invalid: []string{doc("Service", "x") + "  state: restarted\n"},
		},
		reconcilertest.Case{
			Name:    "enabled through rcS.d (sysv)",
			Present: doc("Service", "optimus-early") + "  enabled: true\n",
			Absent:  doc("Service", "optimus-early") + "  enabled: false\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				if got := testenv.Sh(t, conn, "ls /etc/rcS.d /etc/rc2.d | grep -c '^S..optimus-early'"); got != "1\n" {
					t.Errorf("start links %q, want the one in rcS.d", got)
				}
			},
		},
		reconcilertest.Case{
			Name: "restartOn: started once, not restarted, in the first cycle",
			Present: doc("File", "conf") + "  path: /etc/optimus-tinyd.conf\n  content: v1\n---\n" +
				doc("Service", "optimus-tinyd") + "  restartOn: [{kind: File, name: conf}]\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				if got := starts(t, conn); got != "2\n" { // one from the first case
					t.Errorf("starts %q", got)
				}
			},
		},
	)
	t.Run("enabled fails saying why when Default-Start leaves out the boot runlevel", func(t *testing.T) {
		late := strings.Replace(strings.Replace(earlyScript, "optimus-early", "optimus-late", 1), "Default-Start:     S", "Default-Start:     3 4 5", 1)
		h.Exec(t, "cat >/etc/init.d/optimus-late <<'EOF'\n"+late+"EOF\nchmod 755 /etc/init.d/optimus-late")
		rep := testenv.Run(t, s, doc("Service", "optimus-late")+"  enabled: true\n", false)
		if f := testenv.Failure(rep); !strings.Contains(f, "leaves 2 out of Default-Start") {
			t.Errorf("failure %q, want one that names the runlevel left out", f)
		}
	})
	t.Run("restartOn restarts when the file changes", func(t *testing.T) {
		rep := testenv.Run(t, s, doc("File", "conf")+"  path: /etc/optimus-tinyd.conf\n  content: v2\n---\n"+
			doc("Service", "optimus-tinyd")+"  restartOn: [{kind: File, name: conf}]\n", false)
		if f := testenv.Failure(rep); f != "" || !rep.Converged {
			t.Fatalf("failure %q", f)
		}
		if got := h.Exec(t, "grep -c start /var/log/optimus-tinyd.starts"); got != "3\n" {
			t.Errorf("starts %q", got)
		}
	})
}
