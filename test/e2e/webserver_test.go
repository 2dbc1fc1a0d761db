package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/test/testhost"
)

// webdRepo builds, inside the host, a local apt repository holding
// optimus-webd: a tiny daemon with an init script that logs every start, so
// restarts can be counted. The containers have no package mirror.
const webdRepo = `set -e
R=/srv/optimus-repo; b=$(mktemp -d); mkdir -p $R $b/DEBIAN $b/etc/init.d
printf 'Package: optimus-webd\nVersion: 1.0\nArchitecture: all\nMaintainer: optimus tests <t@example.com>\nDescription: tiny web daemon\n' >$b/DEBIAN/control
cat >$b/etc/init.d/optimus-webd <<'INIT'
#!/bin/sh
### BEGIN INIT INFO
# Provides:          optimus-webd
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: tiny web daemon
### END INIT INFO
P=/run/optimus-webd.pid
running() { [ -f $P ] && kill -0 "$(cat $P)" 2>/dev/null; }
case "$1" in
start) running && exit 0
	setsid sh -c 'while :; do sleep 1; done' </dev/null >/dev/null 2>&1 &
	echo $! >$P; echo start >>/var/log/optimus-webd.starts ;;
stop) running && kill "$(cat $P)"; rm -f $P ;;
restart) "$0" stop; "$0" start ;;
status) running ;;
*) exit 2 ;;
esac
INIT
chmod 755 $b/etc/init.d/optimus-webd
dpkg-deb --root-owner-group --build $b $R/optimus-webd_1.0_all.deb >/dev/null
cd $R
for d in *.deb; do dpkg-deb -f $d; printf 'Filename: ./%s\nSize: %s\nSHA256: %s\n\n' $d $(stat -c %s $d) $(sha256sum <$d | cut -c1-64); done >Packages
[ ! -e /etc/apt/sources.list ] || mv /etc/apt/sources.list /etc/apt/sources.list.disabled
rm -f /etc/apt/sources.list.d/*
echo "deb [trusted=yes] file:$R ./" >/etc/apt/sources.list.d/optimus.list
apt-get update -q >/dev/null
`

// TestWebserverExample converges examples/webserver in one apply,
// finds nothing to do the second time, restarts the service exactly once
// when the configuration changes, and repairs drift made by hand.
func TestWebserverExample(t *testing.T) {
	h := testhost.Start(t, 1)[0]
	h.Exec(t, "cat >/tmp/repo.sh <<'EOF'\n"+webdRepo+"EOF\nsh /tmp/repo.sh")
	dir := t.TempDir()
	src := filepath.Join(repoRoot, "examples", "webserver")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, e.Name()), string(b))
	}
	hostsManifest(t, dir, []*testhost.Host{h}) // a single host: role web
	starts := func() string {
		return strings.TrimSpace(h.Exec(t, "grep -c start /var/log/optimus-webd.starts || true"))
	}

	r := run(t, nil, "apply", "-f", dir, "--yes")
	if r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	got := h.Exec(t, `dpkg-query -W -f='${Status}\n' optimus-webd; service optimus-webd status && echo running;
stat -c '%a %U %G' /etc/optimus-webd/webd.conf; head -3 /etc/optimus-webd/webd.conf; ls /etc/rc2.d | grep -c optimus-webd;
grep -c webadmin@laptop /home/webadmin/.ssh/authorized_keys`)
	want := "install ok installed\nrunning\n640 root webadmin\n# Managed by Optimus (File/webd-conf): local changes are overwritten.\n" +
		"server_name " + h.Name + "\nlisten 8080\n1\n1\n"
	if got != want {
		t.Errorf("host after apply:\n%s\nwant:\n%s", got, want)
	}
	if s := starts(); s != "1" {
		t.Errorf("the service started %s times during the first apply, want 1", s)
	}

	r = run(t, nil, "apply", "-f", dir, "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "Nothing to do") || starts() != "1" {
		t.Errorf("second apply: want a no-op (starts %s)\n%s", starts(), r)
	}

	// Editing the configuration restarts the service exactly once.
	tmpl := filepath.Join(dir, "webd.conf.tmpl")
	b, _ := os.ReadFile(tmpl)
	writeFile(t, tmpl, string(b)+"workers 4\n")
	r = run(t, nil, "apply", "-f", dir, "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "+workers 4") {
		t.Fatalf("apply after editing the template: want the diff in the plan\n%s", r)
	}
	if s := starts(); s != "2" {
		t.Errorf("after a configuration change the service started %s times in all, want 2 (one restart)", s)
	}

	// Drift by hand: diff shows it, apply repairs it.
	h.Exec(t, "chmod 0600 /etc/optimus-webd/webd.conf && echo 'listen 9999' >> /etc/optimus-webd/webd.conf")
	r = run(t, nil, "diff", "-f", dir)
	if r.code != 1 || !strings.Contains(r.stdout, "File/webd-conf") || !strings.Contains(r.stdout, "-listen 9999") ||
		!strings.Contains(r.stdout, "0600") {
		t.Errorf("diff after drift: want exit 1 showing the mode and the content\n%s", r)
	}
	if r = run(t, nil, "apply", "-f", dir, "--yes"); r.code != 0 {
		t.Fatalf("apply repairing drift: %s", r)
	}
	if got := h.Exec(t, "stat -c %a /etc/optimus-webd/webd.conf; grep -c 9999 /etc/optimus-webd/webd.conf || true"); got != "640\n0\n" {
		t.Errorf("after repair: %q", got)
	}
	if r = run(t, nil, "diff", "-f", dir); r.code != 0 {
		t.Errorf("diff after repair: %s", r)
	}
}
