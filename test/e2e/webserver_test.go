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
// restarts can be counted, and a configuration check (optimus-webd -t -c
// FILE). The containers have no package mirror. The host's package lists
// are left empty, as on a freshly installed machine.
const webdRepo = `set -e
R=/srv/optimus-repo; b=$(mktemp -d); mkdir -p $R $b/DEBIAN $b/etc/init.d $b/usr/sbin
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
cat >$b/usr/sbin/optimus-webd <<'CHECK'
#!/bin/sh
# optimus-webd -t -c FILE: check a configuration.
[ "$1" = -t ] && [ "$2" = -c ] && [ -n "$3" ] || { echo "usage: optimus-webd -t -c FILE" >&2; exit 2; }
awk '/^listen / && $2 !~ /^[0-9]+$/ { printf "optimus-webd: %s:%d: listen needs a port number, not \"%s\"\n", FILENAME, NR, $2; bad = 1 }
END { exit bad }' "$3"
CHECK
chmod 755 $b/etc/init.d/optimus-webd $b/usr/sbin/optimus-webd
dpkg-deb --root-owner-group --build $b $R/optimus-webd_1.0_all.deb >/dev/null
cd $R
for d in *.deb; do dpkg-deb -f $d; printf 'Filename: ./%s\nSize: %s\nSHA256: %s\n\n' $d $(stat -c %s $d) $(sha256sum <$d | cut -c1-64); done >Packages
[ ! -e /etc/apt/sources.list ] || mv /etc/apt/sources.list /etc/apt/sources.list.disabled
rm -f /etc/apt/sources.list.d/*
echo "deb [trusted=yes] file:$R ./" >/etc/apt/sources.list.d/optimus.list
rm -rf /var/lib/apt/lists/*_* /var/lib/apt/periodic
`

// TestWebserverExample converges examples/webserver in one apply on a host
// whose package lists were never fetched, finds nothing to do the second
// time, restarts the service exactly once when the configuration changes,
// keeps a configuration its check rejects away from the running service,
// and repairs drift made by hand.
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

	if got := h.Exec(t, "apt-cache policy optimus-webd"); got != "" {
		t.Fatalf("the host's lists already know optimus-webd: %q", got)
	}
	r := run(t, nil, "apply", "-f", dir, "--yes")
	if r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	if !strings.Contains(r.stdout, "refresh package lists, then install package optimus-webd (apt)") {
		t.Errorf("the plan does not say the lists are refreshed first:\n%s", r)
	}
	// The template's facts are what the container says.
	osRelease := h.Exec(t, "cat /etc/os-release")
	pretty := ""
	for _, l := range strings.Split(osRelease, "\n") {
		if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
			pretty = strings.Trim(v, `"`)
		}
	}
	wantFacts := "# " + pretty + ", " + strings.TrimSpace(h.Exec(t, "uname -m")) + "\nworkers " + h.Exec(t, "nproc")
	if got := h.Exec(t, "tail -n 2 /etc/optimus-webd/webd.conf"); pretty == "" || got != wantFacts {
		t.Errorf("facts in the configuration: %q, want %q", got, wantFacts)
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
	if r.code != 0 || !strings.Contains(r.stdout, "Nothing to do") || starts() != "1" || strings.Contains(r.stdout, "refresh") {
		t.Errorf("second apply: want a no-op, no refresh (starts %s)\n%s", starts(), r)
	}

	// A configuration the server's check rejects: the File fails with the
	// check's output, the old file and the running service are untouched,
	// the restart is skipped.
	tmpl := filepath.Join(dir, "webd.conf.tmpl")
	good, _ := os.ReadFile(tmpl)
	before := h.Exec(t, "cat /etc/optimus-webd/webd.conf; stat -c '%i %a' /etc/optimus-webd/webd.conf")
	writeFile(t, tmpl, string(good)+"listen eighty\n")
	r = run(t, nil, "apply", "-f", dir, "--yes")
	if r.code != 3 || !strings.Contains(r.stdout+r.stderr, `listen needs a port number, not "eighty"`) ||
		!strings.Contains(r.stdout+r.stderr, "optimus-webd -t -c %s rejected the new content of /etc/optimus-webd/webd.conf") {
		t.Errorf("apply of a rejected configuration: want exit 3 with the check's output\n%s", r)
	}
	if !strings.Contains(r.stdout+r.stderr, "skipped") {
		t.Errorf("the Service restart is not reported skipped:\n%s", r)
	}
	if after := h.Exec(t, "cat /etc/optimus-webd/webd.conf; stat -c '%i %a' /etc/optimus-webd/webd.conf"); after != before {
		t.Errorf("the configuration changed although its check failed:\n%s\nwas:\n%s", after, before)
	}
	if s := starts(); s != "1" || h.Exec(t, "service optimus-webd status && echo running") != "running\n" {
		t.Errorf("the service was restarted (%s starts) or stopped by a rejected configuration", s)
	}
	writeFile(t, tmpl, string(good))

	// Editing the configuration restarts the service exactly once.
	writeFile(t, tmpl, string(good)+"keepalive 4\n")
	r = run(t, nil, "apply", "-f", dir, "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "+keepalive 4") {
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
