package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus"
	"github.com/optimus-cm/optimus/builtin"
	"github.com/optimus-cm/optimus/internal/cli"
	"github.com/optimus-cm/optimus/test/testhost"
)

// repoRoot is where the repository's own manifests live.
const repoRoot = "../.."

// result is what one optimus invocation did.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// run runs the optimus command line in-process, exactly as the binary does.
func run(t testing.TB, cfg *cli.Config, args ...string) result {
	t.Helper()
	if cfg == nil {
		c, err := optimus.Config(optimus.WithKinds(builtin.Kinds()...))
		if err != nil {
			t.Fatal(err)
		}
		cfg = &c
	}
	var out, errb bytes.Buffer
	code := cli.Run(*cfg, args, strings.NewReader(""), &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// connectTimeout is the test hosts' spec.connectTimeout: two cores loaded
// near 100 by other work took more than 3 s to complete an SSH handshake.
const connectTimeout = 20 * time.Second

// hostsManifest writes Host resources for hosts into dir/hosts.yaml, labelled
// as the seed scenario expects: the last host is the web host.
func hostsManifest(t testing.TB, dir string, hosts []*testhost.Host) {
	t.Helper()
	var b strings.Builder
	for i, h := range hosts {
		role := "base"
		if i == len(hosts)-1 {
			role = "web"
		}
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
  connectTimeout: %s
`, h.Name, role, h.Port, h.KeyFile, h.KnownHostsFile, connectTimeout)
	}
	writeFile(t, filepath.Join(dir, "hosts.yaml"), b.String())
}

// seedDir is a manifest directory: the repository's seed users plus Hosts
// for the given test hosts.
func seedDir(t testing.TB, hosts []*testhost.Host) string {
	t.Helper()
	dir := t.TempDir()
	users, err := os.ReadFile(filepath.Join(repoRoot, "manifests", "users.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "users.yaml"), string(users))
	hostsManifest(t, dir, hosts)
	return dir
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// users returns the user names in the host's passwd database.
func users(t testing.TB, h *testhost.Host) map[string]bool {
	t.Helper()
	m := map[string]bool{}
	for _, line := range strings.Split(h.Exec(t, "getent passwd"), "\n") {
		if name, _, ok := strings.Cut(line, ":"); ok {
			m[name] = true
		}
	}
	return m
}
