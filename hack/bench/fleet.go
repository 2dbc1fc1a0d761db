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

	"github.com/optimus-cm/optimus/test/fleetsim"
	"github.com/optimus-cm/optimus/test/testhost"
)

// fleetHosts is where the controller benchmark's Host resources point:
// the sshd containers, or a simulated fleet (-fleetsim).
type fleetHosts struct {
	keyFile, knownHostsFile string
	// addrs is the SSH address of each Host resource.
	addrs      []string
	containers []string
	// watched is the container, and the path in it, where Host resource
	// i's own file is seen.
	watched func(i int) (container, path string)
	// simulated says the addresses are a simulated fleet.
	simulated bool
}

// controllerFleet brings up what the controller mode's n Host resources
// point at: fresh sshd containers, or with -fleetsim a simulated fleet of n
// hosts, as few containers as simd's descriptor limit allows.
func (b *bench) controllerFleet(ctx context.Context, n int) (fleetHosts, error) {
	if !b.fleetsim {
		if err := b.freshHosts(ctx); err != nil {
			return fleetHosts{}, err
		}
		return containerFleet(b.hosts, n), nil
	}
	logf("starting a simulated fleet of %d hosts", n)
	start := time.Now()
	f, err := fleetsim.Start(ctx, fleetsim.Options{
		Hosts: n, Containers: (n + fleetsim.MaxHostsPerContainer - 1) / fleetsim.MaxHostsPerContainer,
		Prefix: b.prefix, BasePort: b.fleetsimPort, Dir: filepath.Join(b.work, "fleetsim"),
		Persistent: b.keep, Log: os.Stderr,
	})
	if err != nil {
		return fleetHosts{}, err
	}
	logf("%d simulated hosts in %d containers up in %s", n, len(f.Containers), time.Since(start).Round(10*time.Millisecond))
	return simulatedFleet(f), nil
}

// containerFleet spreads n Host resources round-robin over the containers.
func containerFleet(containers []*testhost.Host, n int) fleetHosts {
	fh := fleetHosts{keyFile: containers[0].KeyFile, knownHostsFile: containers[0].KnownHostsFile}
	for _, c := range containers {
		fh.containers = append(fh.containers, c.Container)
	}
	for i := range n {
		fh.addrs = append(fh.addrs, fmt.Sprintf("127.0.0.1:%d", containers[i%len(containers)].Port))
	}
	fh.watched = func(i int) (string, string) { return containers[i%len(containers)].Container, fleetPath(i) }
	return fh
}

// simulatedFleet gives each Host resource a simulated host of its own.
func simulatedFleet(f *fleetsim.Fleet) fleetHosts {
	fh := fleetHosts{keyFile: f.KeyFile, knownHostsFile: f.KnownHostsFile, containers: f.Containers, simulated: true}
	for _, h := range f.Hosts {
		fh.addrs = append(fh.addrs, h.Addr())
	}
	fh.watched = func(i int) (string, string) {
		h := f.Hosts[i]
		return h.Container, fleetsim.ContainerPath(h.Name, fleetPath(i))
	}
	return fh
}

// writeFleet writes one HostGroup of a member per address, a File of its
// own per host (/tmp/fleet/hNNNN), and perHost-1 Files every host shares.
// changed >= 0 gives that host's File new content.
func writeFleet(dir string, fh fleetHosts, perHost, changed int) error {
	return writeFleetChanged(dir, fh, perHost, func(i int) bool { return i == changed })
}

// writeFleetChanged is writeFleet with new content for every host i where
// changed(i).
func writeFleetChanged(dir string, fh fleetHosts, perHost int, changed func(i int) bool) error {
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
`, fh.keyFile, fh.knownHostsFile)
	n := len(fh.addrs)
	for i, addr := range fh.addrs {
		fmt.Fprintf(&g, "  - {name: h%04d, address: %q}\n", i, addr)
	}
	if err := writeAtomic(dir, "fleet.yaml", g.String()); err != nil {
		return err
	}
	var f strings.Builder
	f.WriteString("apiVersion: optimus.dev/v1alpha1\nkind: Directory\nmetadata: {name: fleet}\nspec: {path: /tmp/fleet}\n")
	f.WriteString("---\napiVersion: optimus.dev/v1alpha1\nkind: Directory\nmetadata: {name: shared}\nspec: {path: /tmp/shared}\n")
	for i := range n {
		fmt.Fprintf(&f, "---\napiVersion: optimus.dev/v1alpha1\nkind: File\nmetadata: {name: h%04d}\nspec:\n  hostSelector: {matchLabels: {optimus.dev/host: h%04d}}\n  path: %s\n  content: %q\n",
			i, i, fleetPath(i), fleetContent(i, changed(i)))
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
