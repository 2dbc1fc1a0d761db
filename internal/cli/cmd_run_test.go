package cli

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/test/testhost"
)

func TestRun(t *testing.T) {
	hosts := testhost.Start(t, 2)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	var doc strings.Builder
	host := func(name, role string, port int) {
		fmt.Fprintf(&doc, `---
apiVersion: optimus.dev/v1alpha1
kind: Host
metadata: {name: %s, labels: {role: %s}}
spec:
  address: 127.0.0.1
  port: %d
  privateKeyFile: %s
  hostKey: {knownHostsFile: %s}
  connectTimeout: 60s # a loaded machine may take long to log in; the unreachable host is refused at once
`, name, role, port, hosts[0].KeyFile, hosts[0].KnownHostsFile)
	}
	host("web1", "web", hosts[0].Port)
	host("db1", "db", hosts[1].Port)
	host("gone", "old", closedPort)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hosts.yaml"), []byte(doc.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("selector", func(t *testing.T) {
		code, out, errOut := runCLI(t, nil, "run", "-f", dir, "-l", "role in (web,db)", "--", "hostname;", "echo", "oops", ">&2")
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
		for _, want := range []string{"[web1] " + hosts[0].Name + "\n", "[db1] " + hosts[1].Name + "\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("stdout lacks %q:\n%s", want, out)
			}
		}
		if !strings.Contains(errOut, "[web1] oops\n") || !strings.Contains(errOut, "[db1] oops\n") {
			t.Errorf("stderr: %q", errOut)
		}
		if !regexp.MustCompile(`(?m)^web1 +exit 0 +\S+s$`).MatchString(out) || strings.Contains(out, "gone") {
			t.Errorf("summary:\n%s", out)
		}
	})

	t.Run("a failing and an unreachable host", func(t *testing.T) {
		code, out, errOut := runCLI(t, nil, "run", "-f", dir, "--", `[ "$(hostname)" = `+hosts[0].Name+` ] || exit 3; printf 'no newline'`)
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		if !strings.Contains(out, "[web1] no newline\n") {
			t.Errorf("stdout:\n%s", out)
		}
		for _, re := range []string{`(?m)^web1 +exit 0 `, `(?m)^db1 +exit 3 `, `(?m)^gone +unreachable: connection refused`} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("summary lacks %s:\n%s", re, out)
			}
		}
		if !strings.Contains(errOut, "[gone] error: host gone (127.0.0.1:") || !strings.Contains(errOut, "failed on 2 of 3 hosts") {
			t.Errorf("stderr:\n%s", errOut)
		}
	})

	t.Run("usage", func(t *testing.T) {
		if code, _, _ := runCLI(t, nil, "run", "-f", dir); code != 1 {
			t.Errorf("no command: exit %d, want 1", code)
		}
		if code, _, errOut := runCLI(t, nil, "run", "-f", dir, "-l", "role=none", "--", "true"); code != 1 || !strings.Contains(errOut, "no Host resource matches") {
			t.Errorf("no host: exit %d, %s", code, errOut)
		}
	})
}
