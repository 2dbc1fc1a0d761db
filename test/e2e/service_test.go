package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/test/testhost"
)

// listendRepo builds optimus-listend into the local repository of
// webdRepo's kind: a daemon that listens on 127.0.0.1 at every "listen PORT"
// of /etc/optimus-listend/conf.d/*.conf and answers "optimus-listend PORT
// PID", re-reading them on SIGHUP (its init script's reload). Its postinst
// starts it, as Debian's maintainer scripts do, and policy-rc.d lets it.
const listendRepo = `set -e
R=/srv/optimus-repo; b=$(mktemp -d); mkdir -p $R $b/DEBIAN $b/etc/init.d $b/usr/sbin $b/etc/optimus-listend/conf.d
printf 'Package: optimus-listend\nVersion: 1.0\nArchitecture: all\nMaintainer: optimus tests <t@example.com>\nDepends: python3\nDescription: tiny listening daemon\n' >$b/DEBIAN/control
echo /etc/optimus-listend/conf.d/default.conf >$b/DEBIAN/conffiles
echo 'listen 7001' >$b/etc/optimus-listend/conf.d/default.conf
cat >$b/DEBIAN/postinst <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
	update-rc.d optimus-listend defaults >/dev/null
	invoke-rc.d optimus-listend start
fi
POSTINST
cat >$b/etc/init.d/optimus-listend <<'INIT'
#!/bin/sh
### BEGIN INIT INFO
# Provides:          optimus-listend
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: tiny listening daemon
### END INIT INFO
P=/run/optimus-listend.pid
running() { [ -f $P ] && kill -0 "$(cat $P)" 2>/dev/null; }
case "$1" in
start) running && exit 0
	rm -f $P
	setsid /usr/sbin/optimus-listend </dev/null >>/var/log/optimus-listend.log 2>&1 &
	i=0; until [ -s $P ]; do i=$((i+1)); [ $i -lt 600 ] || { echo "optimus-listend did not start" >&2; exit 1; }; sleep 0.1; done ;;
stop) running && kill "$(cat $P)"; i=0; while running; do i=$((i+1)); [ $i -lt 600 ] || exit 1; sleep 0.1; done; rm -f $P ;;
restart) "$0" stop; "$0" start ;;
reload) running && kill -HUP "$(cat $P)" ;;
status) running ;;
*) echo "usage: $0 start|stop|restart|reload|status" >&2; exit 2 ;;
esac
INIT
cat >$b/usr/sbin/optimus-listend <<'DAEMON'
#!/usr/bin/python3
# optimus-listend: answers "optimus-listend PORT PID" on 127.0.0.1 at every
# "listen PORT" of /etc/optimus-listend/conf.d/*.conf; SIGHUP re-reads them.
import glob, os, selectors, signal, socket
sel, socks, hup = selectors.DefaultSelector(), {}, [True]
signal.signal(signal.SIGHUP, lambda *_: hup.__setitem__(0, True))
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
def load():
    want = set()
    for f in sorted(glob.glob("/etc/optimus-listend/conf.d/*.conf")):
        for line in open(f):
            w = line.split()
            if len(w) == 2 and w[0] == "listen":
                want.add(int(w[1]))
    for p in set(socks) - want:
        sel.unregister(socks[p]); socks.pop(p).close()
    for p in want - set(socks):
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", p)); s.listen(8); sel.register(s, selectors.EVENT_READ, p); socks[p] = s
    print("loaded", sorted(socks), flush=True)
while True:
    if hup[0]:
        hup[0] = False; load()
        if not os.path.exists("/run/optimus-listend.pid"):
            open("/run/optimus-listend.pid.tmp", "w").write("%d\n" % os.getpid())
            os.rename("/run/optimus-listend.pid.tmp", "/run/optimus-listend.pid")
    try:
        events = sel.select(1)
    except InterruptedError:
        continue
    for key, _ in events:
        c, _ = key.fileobj.accept()
        c.sendall(("optimus-listend %d %d\n" % (key.data, os.getpid())).encode()); c.close()
DAEMON
chmod 755 $b/DEBIAN/postinst $b/etc/init.d/optimus-listend $b/usr/sbin/optimus-listend
dpkg-deb --root-owner-group --build $b $R/optimus-listend_1.0_all.deb >/dev/null; rm -rf $b
cd $R
for d in *.deb; do dpkg-deb -f $d; printf 'Filename: ./%s\nSize: %s\nSHA256: %s\n\n' $d $(stat -c %s $d) $(sha256sum <$d | cut -c1-64); done >Packages
[ ! -e /etc/apt/sources.list ] || mv /etc/apt/sources.list /etc/apt/sources.list.disabled
rm -f /etc/apt/sources.list.d/*
echo "deb [trusted=yes] file:$R ./" >/etc/apt/sources.list.d/optimus.list
rm -rf /var/lib/apt/lists/*_* /var/lib/apt/periodic
printf '#!/bin/sh\nexit 0\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d
`

// listendManifest installs optimus-listend, writes a configuration that
// opens port (a File that needs the package) and keeps the service running,
// restarted (or reloaded, with trigger reloadOn) when that file changes.
func listendManifest(port, trigger string) string {
	return `apiVersion: optimus.dev/v1alpha1
kind: Package
metadata: {name: optimus-listend}
---
apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: listend-extra}
spec:
  path: /etc/optimus-listend/conf.d/extra.conf
  content: "listen ` + port + `\n"
  dependsOn: [{kind: Package, name: optimus-listend}]
---
apiVersion: optimus.dev/v1alpha1
kind: Service
metadata: {name: optimus-listend}
spec:
  enabled: true
  ` + trigger + `: [{kind: File, name: listend-extra}]
`
}

// answer is what optimus-listend says on port, from inside the container,
// waiting up to a minute for the port to open ("closed" if it never does).
func answer(t *testing.T, h *testhost.Host, port string) string {
	t.Helper()
	return strings.TrimSpace(h.Exec(t, `i=0; while :; do
out=$(python3 -c 'import socket, sys
try:
    print(socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5).recv(100).decode().strip())
except OSError:
    print("closed")' `+port+`)
[ "$out" != closed ] && break; i=$((i+1)); [ $i -lt 600 ] || break; sleep 0.1
done; echo "$out"`))
}

// TestServiceLoadsConfigWrittenWithItsFirstInstall is issue 28's case: the
// package's postinst starts the service before its configuration is
// written, in the same run. One apply must leave it running that
// configuration; the next finds nothing to do; a later change restarts it
// on the new one; with reloadOn a change reloads it (same process).
func TestServiceLoadsConfigWrittenWithItsFirstInstall(t *testing.T) {
	h := testhost.Start(t, 1)[0]
	h.Exec(t, "cat >/tmp/repo.sh <<'EOF'\n"+listendRepo+"EOF\nsh /tmp/repo.sh")
	dir := t.TempDir()
	hostsManifest(t, dir, []*testhost.Host{h})
	manifest := filepath.Join(dir, "listend.yaml")
	pidOf := func(answer string) string { f := strings.Fields(answer); return f[len(f)-1] }

	writeFile(t, manifest, listendManifest("7002", "restartOn"))
	r := run(t, nil, "apply", "-f", dir, "--yes")
	if r.code != 0 {
		t.Fatalf("first apply: %s", r)
	}
	first := answer(t, h, "7002")
	if !strings.HasPrefix(first, "optimus-listend 7002 ") {
		t.Fatalf("after the first apply the listener of the new configuration does not answer: %q\nlog:\n%s\n%s", first,
			h.Exec(t, "cat /var/log/optimus-listend.log"), r)
	}
	if !strings.Contains(r.stdout, "start service optimus-listend (restart if already running: File/listend-extra changed)") {
		t.Errorf("first apply: the plan does not say that the start restarts a running service\n%s", r)
	}
	if got := h.Exec(t, "grep -c '^loaded' /var/log/optimus-listend.log"); got != "2\n" {
		t.Errorf("the daemon loaded a configuration %s times, want 2 (started by the postinst, restarted by Optimus)", got)
	}
	if got := h.Exec(t, "ls /etc/rc2.d | grep -c '^S..optimus-listend'"); got != "1\n" {
		t.Errorf("start links in rc2.d: %s, want 1", got)
	}

	r = run(t, nil, "apply", "-f", dir, "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "Nothing to do") {
		t.Errorf("second apply: want a no-op\n%s", r)
	}
	if r = run(t, nil, "diff", "-f", dir); r.code != 0 {
		t.Errorf("diff after the second apply: want no differences\n%s", r)
	}
	if got := answer(t, h, "7002"); pidOf(got) != pidOf(first) {
		t.Errorf("the no-op apply restarted the daemon: %q, was %q", got, first)
	}

	// A later change: the normal restart path.
	writeFile(t, manifest, listendManifest("7003", "restartOn"))
	r = run(t, nil, "apply", "-f", dir, "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "restart service optimus-listend (File/listend-extra changed)") {
		t.Fatalf("apply of a changed configuration: want a restart\n%s", r)
	}
	restarted := answer(t, h, "7003")
	if !strings.HasPrefix(restarted, "optimus-listend 7003 ") || pidOf(restarted) == pidOf(first) {
		t.Fatalf("after the change: %q, want port 7003 answered by a new process (was %q)", restarted, first)
	}
	if got := h.Exec(t, `python3 -c 'import socket
try:
    socket.create_connection(("127.0.0.1", 7002), 5); print("open")
except OSError:
    print("closed")'`); got != "closed\n" {
		t.Errorf("port 7002 of the old configuration is %s after the restart", got)
	}

	// reloadOn: the same process loads the new configuration.
	writeFile(t, manifest, listendManifest("7004", "reloadOn"))
	r = run(t, nil, "apply", "-f", dir, "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "reload service optimus-listend (File/listend-extra changed)") {
		t.Fatalf("apply with reloadOn: want a reload\n%s", r)
	}
	reloaded := answer(t, h, "7004")
	if !strings.HasPrefix(reloaded, "optimus-listend 7004 ") || pidOf(reloaded) != pidOf(restarted) {
		t.Errorf("after the reload: %q, want port 7004 answered by the same process as %q", reloaded, restarted)
	}
	if r = run(t, nil, "diff", "-f", dir); r.code != 0 {
		t.Errorf("diff after the reload: want no differences\n%s", r)
	}
}
