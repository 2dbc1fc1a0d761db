package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/test/testhost"
)

// TestTool builds mytool and uses it as its users would: validate, apply,
// diff, and the controller subcommand, against a real host.
func TestTool(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "mytool")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	h := testhost.Start(t, 1)[0]
	dir := t.TempDir()
	site, err := os.ReadFile("manifests/site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "site.yaml"), string(site))
	write(t, filepath.Join(dir, "hosts.yaml"), fmt.Sprintf("apiVersion: optimus.dev/v1alpha1\nkind: Host\nmetadata: {name: %s}\n"+
		"spec: {address: 127.0.0.1, port: %d, privateKeyFile: %s, hostKey: {knownHostsFile: %s}}\n", h.Name, h.Port, h.KeyFile, h.KnownHostsFile))

	mytool := func(args ...string) (int, string) {
		var out bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), out.String()
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, out.String()
	}

	if code, out := mytool("validate", "-f", dir); code != 0 {
		t.Fatalf("validate: exit %d\n%s", code, out)
	}
	if code, out := mytool("diff", "-f", dir); code != 1 || !strings.Contains(out, "Motd/welcome") {
		t.Fatalf("diff before apply: exit %d\n%s", code, out)
	}
	if code, out := mytool("apply", "-f", dir, "--yes"); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, out)
	}
	if got := h.Exec(t, "cat /etc/motd; getent passwd alice | cut -d: -f1; cat /etc/issue.net /etc/mytool-host"); got !=
		"Managed by mytool. Changes by hand will be undone.\nalice\nAuthorised use only.\nhost "+h.Name+", role \n" {
		t.Errorf("host after apply: %q", got)
	}
	if code, out := mytool("diff", "-f", dir); code != 0 {
		t.Fatalf("diff after apply: exit %d\n%s", code, out)
	}
	if code, out := mytool("explain", "Motd.message"); code != 0 || !strings.Contains(out, "the text shown at login") {
		t.Errorf("explain Motd.message: exit %d\n%s", code, out)
	}

	t.Run("a bad field of the custom kind names file and line", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		write(t, bad, "apiVersion: mytool.example.com/v1\nkind: Motd\nmetadata: {name: oops}\nspec:\n  message: hi\n  colour: red\n")
		code, out := mytool("validate", "-f", bad)
		if code != 1 || !strings.Contains(out, "bad.yaml:6") || !strings.Contains(out, "colour") {
			t.Errorf("exit %d\n%s", code, out)
		}
	})

	t.Run("controller corrects drift", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		h.Exec(t, "echo tampered > /etc/motd")
		cmd := exec.Command(bin, "controller", "--watch", dir, "--listen", addr, "--state-dir", t.TempDir(), "--resync", "1s")
		var logs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if strings.HasPrefix(h.Exec(t, "cat /etc/motd"), "Managed by mytool") {
				resp, err := http.Get("http://" + addr + "/readyz")
				if err == nil && resp.StatusCode == 200 {
					resp.Body.Close()
					return
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("the controller did not restore /etc/motd\n%s", logs.String())
	})
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
