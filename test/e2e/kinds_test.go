package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/test/testhost"
)

// dayOneKinds has a Cron entry in root's crontab and one in /etc/cron.d, a
// Sysctl, a Mount and the Hostname, plus one File for Debian hosts only
// and one for Alpine hosts only (hostSelector.matchFacts).
const dayOneKinds = `apiVersion: optimus.dev/v1alpha1
kind: Cron
metadata: {name: backup}
spec: {schedule: "30 2 * * mon-fri", command: /usr/local/bin/backup}
---
apiVersion: optimus.dev/v1alpha1
kind: Cron
metadata: {name: rotate}
spec: {cronFile: optimus-rotate, user: nobody, schedule: "@hourly", command: /usr/sbin/logrotate /etc/logrotate.conf}
---
apiVersion: optimus.dev/v1alpha1
kind: Sysctl
metadata: {name: net.ipv4.ip_forward}
spec: {value: "1"}
---
apiVersion: optimus.dev/v1alpha1
kind: Mount
metadata: {name: cache}
spec: {path: /srv/cache, source: tmpfs, fstype: tmpfs, options: "size=16m", state: present}
---
apiVersion: optimus.dev/v1alpha1
kind: Hostname
metadata: {name: web-renamed}
---
apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: debian-only}
spec:
  hostSelector: {matchFacts: {os.id: debian}}
  path: /etc/optimus-debian
  content: "debian\n"
---
apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: alpine-only}
spec:
  hostSelector: {matchFacts: {os.id: alpine}}
  path: /etc/optimus-alpine
  content: "alpine\n"
`

const dayOneAbsent = `apiVersion: optimus.dev/v1alpha1
kind: Cron
metadata: {name: backup}
spec: {state: absent}
---
apiVersion: optimus.dev/v1alpha1
kind: Cron
metadata: {name: rotate}
spec: {cronFile: optimus-rotate, state: absent}
---
apiVersion: optimus.dev/v1alpha1
kind: Sysctl
metadata: {name: net.ipv4.ip_forward}
spec: {state: absent}
---
apiVersion: optimus.dev/v1alpha1
kind: Mount
metadata: {name: cache}
spec: {path: /srv/cache, state: absent}
`

// dayOneState is what the kinds manage on the host, for comparisons.
const dayOneState = `cat /var/spool/cron/crontabs/root /etc/cron.d/optimus-rotate /etc/sysctl.d/90-optimus-net.ipv4.ip_forward.conf 2>&1
grep /srv/cache /etc/fstab; cat /etc/hostname; ls /etc/optimus-debian /etc/optimus-alpine 2>&1 || true`

// TestDayOneKinds converges Cron, Sysctl, Mount and Hostname on an
// unprivileged container, with the facts selecting what applies; a second
// apply is a no-op in one round trip; drift is repaired; absent removes.
func TestDayOneKinds(t *testing.T) {
	h := testhost.Start(t, 1)[0]
	dir := t.TempDir()
	hostsManifest(t, dir, []*testhost.Host{h})
	writeFile(t, filepath.Join(dir, "kinds.yaml"), dayOneKinds)

	r := run(t, nil, "apply", "-f", dir, "--yes", "-o", "json")
	rep := decodeReport(t, r)
	if r.code != 0 || !rep.Converged {
		t.Fatalf("apply: %s", r)
	}
	// Every cycle observes in one round trip; acting adds one per cycle
	// that acted.
	if hr := rep.Hosts[0]; hr.RoundTrips != 2*rep.Cycles-1 || hr.Connects != 1 {
		t.Errorf("apply: %d round trips over %d cycles, %d connections; want %d, 1", hr.RoundTrips, rep.Cycles, hr.Connects, 2*rep.Cycles-1)
	}
	want := "# optimus: backup\n30 2 * * mon-fri /usr/local/bin/backup\n" +
		"# Managed by Optimus (Cron/rotate).\n@hourly nobody /usr/sbin/logrotate /etc/logrotate.conf\n" +
		"# Managed by Optimus (Sysctl/net.ipv4.ip_forward).\nnet.ipv4.ip_forward = 1\n" +
		"tmpfs /srv/cache tmpfs size=16m 0 0\nweb-renamed\n" +
		"ls: cannot access '/etc/optimus-alpine': No such file or directory\n/etc/optimus-debian\n"
	if got := h.Exec(t, dayOneState); got != want {
		t.Errorf("after apply:\n%s\nwant:\n%s", got, want)
	}

	r = run(t, nil, "apply", "-f", dir, "--yes", "-o", "json")
	rep = decodeReport(t, r)
	if hr := rep.Hosts[0]; r.code != 0 || len(rep.Plans) != 0 || hr.RoundTrips != 1 || hr.Connects != 1 {
		t.Errorf("second apply: want a no-op in 1 round trip over 1 connection\n%s", r)
	}
	// What the container withholds is noted in every plan, as no change:
	// the running name, and the live sysctl value where it differs.
	notes := []string{"note: " + h.Name + ": Hostname/web-renamed: running name " + h.Name + ", not web-renamed: the host withholds CAP_SYS_ADMIN"}
	if live := strings.TrimSpace(h.Exec(t, "cat /proc/sys/net/ipv4/ip_forward")); live != "1" {
		notes = append(notes, "note: "+h.Name+": Sysctl/net.ipv4.ip_forward: live value "+live+", not 1: /proc/sys is read-only here")
	}
	if len(rep.Notes) != len(notes) {
		t.Errorf("second apply: notes %+v, want %d", rep.Notes, len(notes))
	}
	r = run(t, nil, "diff", "-f", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "No differences") {
		t.Errorf("diff after apply: want exit 0, no differences\n%s", r)
	}
	for _, n := range notes {
		if !strings.Contains(r.stdout, n) {
			t.Errorf("diff after apply does not say %q:\n%s", n, r)
		}
	}

	h.Exec(t, `sed -i 's/^30 2 /0 3 /' /var/spool/cron/crontabs/root; echo '@daily root true' >/etc/cron.d/optimus-rotate
echo 'net.ipv4.ip_forward = 0' >/etc/sysctl.d/90-optimus-net.ipv4.ip_forward.conf; sed -i 's/size=16m/size=1g/' /etc/fstab; echo other >/etc/hostname`)
	r = run(t, nil, "diff", "-f", dir)
	for _, ref := range []string{"Cron/backup", "Cron/rotate", "Sysctl/net.ipv4.ip_forward", "Mount/cache", "Hostname/web-renamed"} {
		if !strings.Contains(r.stdout, ref) {
			t.Errorf("diff after drift does not show %s:\n%s", ref, r)
		}
	}
	if r = run(t, nil, "apply", "-f", dir, "--yes"); r.code != 0 {
		t.Fatalf("apply repairing drift: %s", r)
	}
	if got := h.Exec(t, dayOneState); got != want {
		t.Errorf("after repair:\n%s\nwant:\n%s", got, want)
	}

	writeFile(t, filepath.Join(dir, "kinds.yaml"), dayOneAbsent)
	if r = run(t, nil, "apply", "-f", dir, "--yes"); r.code != 0 {
		t.Fatalf("apply absent: %s", r)
	}
	got := h.Exec(t, "cat /var/spool/cron/crontabs/root; ls /etc/cron.d /etc/sysctl.d; grep -c /srv/cache /etc/fstab || true")
	if strings.Contains(got, "backup") || strings.Contains(got, "optimus") || !strings.HasSuffix(got, "\n0\n") {
		t.Errorf("after absent: %q", got)
	}
	if r = run(t, nil, "diff", "-f", dir); r.code != 0 {
		t.Errorf("diff after absent: %s", r)
	}
}

// report is the part of apply's JSON output these tests read.
type report struct {
	Converged bool
	Cycles    int
	Plans     []json.RawMessage
	Notes     []struct{ Host, Text string }
	Hosts     []struct {
		Host       string
		RoundTrips int
		Connects   int
	}
}

func decodeReport(t *testing.T, r result) report {
	t.Helper()
	var rep report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Hosts) != 1 {
		t.Fatalf("json output: %v\n%s", err, r)
	}
	return rep
}
