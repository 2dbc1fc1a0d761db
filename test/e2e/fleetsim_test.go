package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/test/fleetsim"
	"github.com/optimus-cm/optimus/transport"
)

// TestFleetsimApply applies a file of its own to each of a few hundred
// simulated hosts, reads every one back over the simulator's SSH, checks
// that each host sees its own file and not the others', and that a second
// apply has nothing to do.
func TestFleetsimApply(t *testing.T) {
	const n = 200
	f := fleetsim.StartTest(t, n)
	dir := t.TempDir()
	var g strings.Builder
	fmt.Fprintf(&g, `apiVersion: optimus.dev/v1alpha1
kind: HostGroup
metadata: {name: sim}
spec:
  template:
    spec:
      privateKeyFile: %s
      hostKey: {knownHostsFile: %s}
      connectTimeout: %s
  members:
`, f.KeyFile, f.KnownHostsFile, connectTimeout)
	for _, h := range f.Hosts {
		fmt.Fprintf(&g, "  - {name: %s, address: %q}\n", h.Name, h.Addr())
	}
	writeFile(t, filepath.Join(dir, "fleet.yaml"), g.String())
	var m strings.Builder
	m.WriteString("apiVersion: optimus.dev/v1alpha1\nkind: Directory\nmetadata: {name: sim}\nspec: {path: /tmp/sim}\n")
	for _, h := range f.Hosts {
		fmt.Fprintf(&m, "---\napiVersion: optimus.dev/v1alpha1\nkind: File\nmetadata: {name: %s}\nspec:\n  hostSelector: {matchLabels: {optimus.dev/host: %s}}\n  path: /tmp/sim/%s\n  content: \"I am %s\\n\"\n",
			h.Name, h.Name, h.Name, h.Name)
	}
	writeFile(t, filepath.Join(dir, "files.yaml"), m.String())

	if r := run(t, nil, "apply", "-f", dir, "--yes"); r.code != 0 {
		t.Fatalf("apply on %d simulated hosts: want exit 0\n%s", n, r)
	}

	// Over the simulator's SSH, as Optimus reaches it: each host holds its
	// own file and only it, and answers to its own name.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, h := range f.Hosts {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := transport.Dial(ctx, f.Resource(i))
			if err != nil {
				t.Errorf("%s: %v", h.Name, err)
				return
			}
			defer c.Close()
			r, err := transport.Run(ctx, c, "hostname; ls /tmp/sim; cat /tmp/sim/*")
			if err != nil {
				t.Errorf("%s: %v", h.Name, err)
				return
			}
			want := fmt.Sprintf("%s\n%s\nI am %s\n", h.Name, h.Name, h.Name)
			if got := string(r.Stdout); got != want {
				t.Errorf("%s: hostname, /tmp/sim and its content:\n%s\nwant:\n%s", h.Name, got, want)
			}
		})
	}
	wg.Wait()

	if r := run(t, nil, "apply", "-f", dir, "--yes"); r.code != 0 || !strings.Contains(r.stdout, "Nothing to do") {
		t.Errorf("second apply: want exit 0 and nothing to do\n%s", r)
	}
}
