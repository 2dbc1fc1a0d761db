package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/optimus-cm/optimus/test/testhost"
)

// writeFleet writes one HostGroup of n members over the containers, a File
// of its own per host (/tmp/fleet/hNNNN), and perHost-1 Files every host
// shares. changed >= 0 gives that host's File new content.
func writeFleet(dir string, containers []*testhost.Host, n, perHost, changed int) error {
	var g strings.Builder
	fmt.Fprintf(&g, `apiVersion: optimus.dev/v1alpha1
kind: HostGroup
metadata: {name: fleet}
spec:
  template:
    spec:
      privateKeyFile: %s
      hostKey: {knownHostsFile: %s}
      connectTimeout: 60s # the test sshds share the machine's cores with the controller
  members:
`, containers[0].KeyFile, containers[0].KnownHostsFile)
	for i := range n {
		fmt.Fprintf(&g, "  - {name: h%04d, address: \"127.0.0.1:%d\"}\n", i, containers[i%len(containers)].Port)
	}
	if err := writeAtomic(dir, "fleet.yaml", g.String()); err != nil {
		return err
	}
	var f strings.Builder
	f.WriteString("apiVersion: optimus.dev/v1alpha1\nkind: Directory\nmetadata: {name: fleet}\nspec: {path: /tmp/fleet}\n")
	f.WriteString("---\napiVersion: optimus.dev/v1alpha1\nkind: Directory\nmetadata: {name: shared}\nspec: {path: /tmp/shared}\n")
	for i := range n {
		fmt.Fprintf(&f, "---\napiVersion: optimus.dev/v1alpha1\nkind: File\nmetadata: {name: h%04d}\nspec:\n  hostSelector: {matchLabels: {optimus.dev/host: h%04d}}\n  path: %s\n  content: %q\n",
			i, i, fleetPath(i), fleetContent(i, i == changed))
	}
	for j := 3; j < perHost; j++ { // the two directories and the host's own File count
		fmt.Fprintf(&f, "---\napiVersion: optimus.dev/v1alpha1\nkind: File\nmetadata: {name: shared%02d}\nspec:\n  path: /tmp/shared/f%02d\n  content: \"shared %d\\n\"\n", j, j, j)
	}
	return writeAtomic(dir, "files.yaml", f.String())
}

// writeAtomic replaces dir/name in one rename, as editors save, so the
// watching controller never reads half a file.
func writeAtomic(dir, name, content string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}

// watchContent starts a loop on container that waits until path holds
// want, and sends the time it saw it (zero when the loop failed).
func watchContent(ctx context.Context, container, path, want string) (<-chan time.Time, error) {
	script := `want=$(printf '%s' "$1"); while [ "$(cat "$2" 2>/dev/null)" != "$want" ]; do sleep 0.05; done; date +%s.%N`
	cmd := exec.CommandContext(ctx, "docker", "exec", container, "sh", "-c", script, "watch", want, path)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	seen := make(chan time.Time, 1)
	go func() {
		var at time.Time
		if cmd.Wait() == nil {
			if f, err := strconv.ParseFloat(strings.TrimSpace(out.String()), 64); err == nil {
				at = time.Unix(0, int64(f*1e9))
			}
		}
		seen <- at
	}()
	return seen, nil
}

func fleetPath(i int) string { return fmt.Sprintf("/tmp/fleet/h%04d", i) }

func fleetContent(i int, changed bool) string {
	if changed {
		return fmt.Sprintf("host %d, changed\n", i)
	}
	return fmt.Sprintf("host %d\n", i)
}
