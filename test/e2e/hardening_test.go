package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/test/testhost"
)

// TestHardeningExample converges examples/hardening on two fresh hosts, a
// web server and another, and finds nothing to do the second time. It
// checks what the example promises on the hosts themselves: per-group
// variables in the files (the web server bans sooner), the sshd drop-in
// that sshd itself reads, the modprobe files stamped out by forEach, the
// version-guarded resources applied on this Debian, and the packages left
// alone on hosts whose own vars say there is no mirror.
func TestHardeningExample(t *testing.T) {
	hosts := testhost.Start(t, 2)
	base, web := hosts[0], hosts[1]
	dir := t.TempDir()
	src := filepath.Join(repoRoot, "examples", "hardening")
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
	// The containers have no package mirror: their own vars say so, and
	// override the example's baseline.
	var b strings.Builder
	for _, h := range []struct {
		h    *testhost.Host
		role string
	}{{base, "base"}, {web, "web"}} {
		fmt.Fprintf(&b, `---
apiVersion: optimus.dev/v1alpha1
kind: Host
metadata:
  name: %s
  labels: {role: %s}
spec:
  address: 127.0.0.1
  port: %d
  privateKeyFile: %s
  hostKey: {knownHostsFile: %s}
  connectTimeout: 60s # a loaded machine may take long to log in
  vars: {installPackages: false}
`, h.h.Name, h.role, h.h.Port, h.h.KeyFile, h.h.KnownHostsFile)
	}
	writeFile(t, filepath.Join(dir, "hosts.yaml"), b.String())

	r := run(t, nil, "validate", "-f", dir, "--vars", web.Name)
	if r.code != 0 || !strings.Contains(r.stdout, "fail2banMaxRetry   3      GroupVars/web-hardening (priority 10) at ") ||
		!strings.Contains(r.stdout, "installPackages    false  Host/"+web.Name) {
		t.Errorf("validate --vars: want each value with where it comes from\n%s", r)
	}

	r = run(t, nil, "apply", "-f", dir, "--yes")
	if r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	if strings.Contains(r.stdout, "Package/") {
		t.Errorf("packages planned on hosts whose vars say installPackages: false:\n%s", r)
	}
	for _, h := range []struct {
		h                *testhost.Host
		maxRetry, banFor string
	}{{base, "5", "1h"}, {web, "3", "24h"}} {
		got := h.h.Exec(t, `grep -E '^(maxretry|bantime)' /etc/fail2ban/jail.d/optimus-sshd.local
/usr/sbin/sshd -T -C user=root,host=x,addr=127.0.0.1 | grep -E '^(maxauthtries|permitrootlogin|passwordauthentication|x11forwarding|logingracetime) '
grep -P '^PASS_MAX_DAYS\t' /etc/login.defs
ls /etc/modprobe.d | grep -c '^optimus-disable-'
grep -c '^install udf /bin/false$' /etc/modprobe.d/optimus-disable-udf.conf
grep -c 'Automatic-Reboot "false"' /etc/apt/apt.conf.d/52optimus-unattended-upgrades
grep -c 'codename=${distro_codename}' /etc/apt/apt.conf.d/52optimus-unattended-upgrades
dpkg-query -W fail2ban unattended-upgrades 2>/dev/null | wc -l`)
		want := "maxretry = " + h.maxRetry + "\nbantime  = " + h.banFor + "\n" +
			"logingracetime 30\nmaxauthtries 3\npermitrootlogin without-password\npasswordauthentication no\nx11forwarding no\n" +
			"PASS_MAX_DAYS\t365\n6\n1\n1\n1\n0\n"
		if got != want {
			t.Errorf("%s after apply:\n%s\nwant:\n%s", h.h.Name, got, want)
		}
	}

	r = run(t, nil, "apply", "-f", dir, "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "Nothing to do") {
		t.Errorf("second apply: want a no-op\n%s", r)
	}
}
