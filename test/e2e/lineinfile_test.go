package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/test/testhost"
)

// patientHosts is hostsManifest with a connect timeout for a machine
// loaded by other tests: these tests are about edits, not connections.
func patientHosts(t *testing.T, dir string, hosts []*testhost.Host) {
	t.Helper()
	hostsManifest(t, dir, hosts)
	p := filepath.Join(dir, "hosts.yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, p, strings.ReplaceAll(string(b), "connectTimeout: 3s", "connectTimeout: 30s"))
}

// sshdHardening is the eight sshd lines of a hardening role as one
// LineInFile, checked by sshd itself before it is installed.
func sshdHardening(maxAuthTries, state string) string {
	return fmt.Sprintf(`apiVersion: optimus.dev/v1alpha1
kind: LineInFile
metadata: {name: sshd-hardening}
spec:
  path: /etc/ssh/sshd_config
  validate: /usr/sbin/sshd -t -f %%s
  owner: root
  group: root
  mode: "0600"
  state: %s
  lines:
  - {regexp: '^#?PermitRootLogin', line: PermitRootLogin prohibit-password}
  - {regexp: '^#?PasswordAuthentication', line: PasswordAuthentication no}
  - {regexp: '^#?PermitEmptyPasswords', line: PermitEmptyPasswords no}
  - {regexp: '^#?X11Forwarding', line: X11Forwarding no}
  - {regexp: '^#?MaxAuthTries', line: MaxAuthTries %s}
  - {regexp: '^#?ClientAliveInterval', line: ClientAliveInterval 300}
  - {regexp: '^#?LoginGraceTime', line: LoginGraceTime 30}
  - {regexp: '^#?AllowAgentForwarding', line: AllowAgentForwarding no}
`, state, maxAuthTries)
}

// TestLineInFileSshdHardening: eight lines of sshd_config in one resource
// converge in one validated write with the wanted owner and mode; a second
// apply changes nothing; a line sshd rejects is refused and the file kept
// byte for byte; absent removes the lines.
func TestLineInFileSshdHardening(t *testing.T) {
	h := testhost.Start(t, 1)[0]
	dir := t.TempDir()
	patientHosts(t, dir, []*testhost.Host{h})
	h.Exec(t, "chmod 0644 /etc/ssh/sshd_config")
	writeFile(t, filepath.Join(dir, "sshd.yaml"), sshdHardening("3", "present"))

	r := run(t, nil, "apply", "-f", dir, "--yes", "-o", "json")
	rep := decodeReport(t, r)
	if r.code != 0 || !rep.Converged || len(rep.Plans) != 1 {
		t.Fatalf("apply: want one converged change\n%s", r)
	}
	want := "PermitRootLogin prohibit-password\nPasswordAuthentication no\nPermitEmptyPasswords no\nX11Forwarding no\n" +
		"MaxAuthTries 3\nClientAliveInterval 300\nLoginGraceTime 30\nAllowAgentForwarding no\n"
	const managed = `grep -E '^#?(PermitRootLogin|PasswordAuthentication|PermitEmptyPasswords|X11Forwarding|MaxAuthTries|ClientAliveInterval|LoginGraceTime|AllowAgentForwarding)' /etc/ssh/sshd_config | sort; stat -c '%a %U %G' /etc/ssh/sshd_config`
	sorted := func(s string) string {
		l := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
		slices.Sort(l)
		return strings.Join(l, "\n") + "\n"
	}
	if got := h.Exec(t, managed); got != sorted(want)+"600 root root\n" {
		t.Errorf("after apply:\n%s\nwant:\n%s600 root root", got, sorted(want))
	}
	if got := h.Exec(t, "/usr/sbin/sshd -t && echo ok"); got != "ok\n" {
		t.Errorf("sshd -t after apply: %q", got)
	}

	r = run(t, nil, "apply", "-f", dir, "--yes", "-o", "json")
	if rep = decodeReport(t, r); r.code != 0 || len(rep.Plans) != 0 {
		t.Errorf("second apply: want a no-op\n%s", r)
	}

	before := h.Exec(t, "sha256sum /etc/ssh/sshd_config")
	writeFile(t, filepath.Join(dir, "sshd.yaml"), sshdHardening("lots", "present"))
	r = run(t, nil, "apply", "-f", dir, "--yes")
	if r.code != 3 || !strings.Contains(r.stdout+r.stderr, "rejected the new content of /etc/ssh/sshd_config") {
		t.Errorf("apply of a line sshd rejects: want exit 3 naming the validation\n%s", r)
	}
	if after := h.Exec(t, "sha256sum /etc/ssh/sshd_config"); after != before {
		t.Errorf("a rejected edit changed the file: %s -> %s", before, after)
	}
	if left := h.Exec(t, "ls -A /etc/ssh | grep -c '^.optimus' || true"); left != "0\n" {
		t.Errorf("temporary files left in /etc/ssh: %s", left)
	}

	writeFile(t, filepath.Join(dir, "sshd.yaml"), sshdHardening("3", "absent"))
	if r = run(t, nil, "apply", "-f", dir, "--yes"); r.code != 0 {
		t.Fatalf("apply absent: %s", r)
	}
	if got := h.Exec(t, managed); got != "600 root root\n" {
		t.Errorf("after absent: %q", got)
	}
	if r = run(t, nil, "diff", "-f", dir); r.code != 0 {
		t.Errorf("diff after absent: %s", r)
	}
}

func blockDoc(block, state string) string {
	return fmt.Sprintf(`apiVersion: optimus.dev/v1alpha1
kind: BlockInFile
metadata: {name: backup-sftp}
spec:
  path: /etc/ssh/sshd_config
  validate: /usr/sbin/sshd -t -f %%s
  state: %s
  block: |
%s`, state, block)
}

// TestBlockInFile: a marked block converges (validated by sshd), a second
// apply changes nothing, a new block replaces the old one between its
// markers, and absent removes it with its markers.
func TestBlockInFile(t *testing.T) {
	h := testhost.Start(t, 1)[0]
	dir := t.TempDir()
	patientHosts(t, dir, []*testhost.Host{h})
	orig := h.Exec(t, "sha256sum </etc/ssh/sshd_config")
	block := "    Match User backup\n      ForceCommand internal-sftp\n"
	writeFile(t, filepath.Join(dir, "block.yaml"), blockDoc(block, "present"))
	const show = `sed -n '/^# BEGIN OPTIMUS MANAGED BLOCK backup-sftp$/,/^# END OPTIMUS MANAGED BLOCK backup-sftp$/p' /etc/ssh/sshd_config`

	if r := run(t, nil, "apply", "-f", dir, "--yes"); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	want := "# BEGIN OPTIMUS MANAGED BLOCK backup-sftp\nMatch User backup\n  ForceCommand internal-sftp\n# END OPTIMUS MANAGED BLOCK backup-sftp\n"
	if got := h.Exec(t, show); got != want {
		t.Errorf("after apply: %q, want %q", got, want)
	}
	if got := h.Exec(t, "tail -n 4 /etc/ssh/sshd_config"); got != want {
		t.Errorf("the block is not at the end: %q", got)
	}
	r := run(t, nil, "apply", "-f", dir, "--yes", "-o", "json")
	if rep := decodeReport(t, r); r.code != 0 || len(rep.Plans) != 0 {
		t.Errorf("second apply: want a no-op\n%s", r)
	}

	writeFile(t, filepath.Join(dir, "block.yaml"), blockDoc("    Match User backup\n      ForceCommand internal-sftp -u 077\n      AllowTcpForwarding no\n", "present"))
	r = run(t, nil, "diff", "-f", dir)
	if r.code != 1 || !strings.Contains(r.stdout, "+  AllowTcpForwarding no") {
		t.Errorf("diff of an updated block: %s", r)
	}
	if r = run(t, nil, "apply", "-f", dir, "--yes"); r.code != 0 {
		t.Fatalf("apply update: %s", r)
	}
	want = "# BEGIN OPTIMUS MANAGED BLOCK backup-sftp\nMatch User backup\n  ForceCommand internal-sftp -u 077\n  AllowTcpForwarding no\n# END OPTIMUS MANAGED BLOCK backup-sftp\n"
	if got := h.Exec(t, show); got != want {
		t.Errorf("after update: %q, want %q", got, want)
	}

	writeFile(t, filepath.Join(dir, "block.yaml"), blockDoc(block, "absent"))
	if r = run(t, nil, "apply", "-f", dir, "--yes"); r.code != 0 {
		t.Fatalf("apply absent: %s", r)
	}
	if got := h.Exec(t, "sha256sum </etc/ssh/sshd_config"); got != orig {
		t.Errorf("after absent the file is not as it was: %s", h.Exec(t, "tail -n 5 /etc/ssh/sshd_config"))
	}
	if r = run(t, nil, "diff", "-f", dir); r.code != 0 {
		t.Errorf("diff after absent: %s", r)
	}
}
