package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/internal/testcert"
)

// TestControllerListenerSettings runs the controller binary: a token file
// others may read or write, and a non-loopback listener without TLS, are
// refused at start with what to do; with a certificate the controller
// serves HTTPS, and optimus get reaches it with --controller-ca-file.
func TestControllerListenerSettings(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "hosts.yaml"), fmt.Sprintf("apiVersion: optimus.dev/v1alpha1\nkind: Host\nmetadata: {name: lonely}\n"+
		"spec: {address: 127.0.0.1, port: %d, privateKeyFile: %s, hostKey: {policy: insecure}, connectTimeout: 1s}\n",
		freePort(t), privateKey(t)))
	const token = "read-0123456789abcdef"
	tokens := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokens, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	refused := func(t *testing.T, wants []string, args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, filepath.Join(bin, "optimus-controller"),
			append([]string{"--watch", dir, "--state-dir", t.TempDir()}, args...)...).CombinedOutput()
		if code := exitCode(err); code != 1 {
			t.Fatalf("exit %d, want 1:\n%s", code, out)
		}
		for _, w := range wants {
			if !strings.Contains(string(out), w) {
				t.Errorf("the refusal lacks %q:\n%s", w, out)
			}
		}
		t.Logf("refused: %s", strings.TrimSpace(string(out)))
	}

	t.Run("a token file its group may read is refused", func(t *testing.T) {
		loose := filepath.Join(t.TempDir(), "tokens")
		if err := os.WriteFile(loose, []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(loose, 0o640); err != nil {
			t.Fatal(err)
		}
		refused(t, []string{loose, "mode 0640", "chmod 600 " + loose}, "--listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--auth-token-file", loose)
	})

	t.Run("all interfaces without TLS is refused", func(t *testing.T) {
		refused(t, []string{"--tls-cert-file", "--tls-key-file", "--insecure-http"},
			"--listen", fmt.Sprintf("0.0.0.0:%d", freePort(t)), "--auth-token-file", tokens)
	})

	t.Run("HTTPS, reached by optimus get with --controller-ca-file", func(t *testing.T) {
		ca := testcert.NewCA(t)
		pair := ca.Server(t, "controller")
		c := startController(t, dir, "--auth-token-file", tokens, "--tls-cert-file", pair.CertFile, "--tls-key-file", pair.KeyFile)
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
		eventually(t, 30*time.Second, "the controller answers over HTTPS", func() bool {
			resp, err := client.Get("https://" + c.addr + "/healthz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200 && resp.TLS != nil
		})
		r := run(t, nil, "get", "hosts", "--controller", c.addr, "--controller-ca-file", ca.CertFile, "--token-file", tokens)
		if r.code != 0 || !strings.Contains(r.stdout, "lonely") {
			t.Errorf("optimus get hosts over HTTPS: %s", r)
		}
		r = run(t, nil, "get", "hosts", "--controller", c.addr, "--token-file", tokens)
		if r.code != 1 || !strings.Contains(r.stderr, "serves HTTPS") {
			t.Errorf("optimus get hosts over plain HTTP to the HTTPS controller: want exit 1 saying it serves HTTPS: %s", r)
		}
	})
}

// exitCode is a finished command's exit status; -1 when it did not exit.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if e, ok := err.(*exec.ExitError); ok {
		return e.ExitCode()
	}
	return -1
}
