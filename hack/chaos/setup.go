package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/optimus-cm/optimus/internal/etcdtest"
	"github.com/optimus-cm/optimus/test/testhost"
)

// cluster is everything the run started; close undoes it all, in reverse,
// whatever state the run ended in.
type cluster struct {
	work       string
	bin        string // the optimus CLI
	containers []*testhost.Host
	hosts      []fleetHost
	etcd       *etcdtest.Cluster
	replicas   []*replica
	manDirs    []string
	undo       []func()
}

func (c *cluster) close() {
	for i := len(c.undo) - 1; i >= 0; i-- {
		c.undo[i]()
	}
}

// build compiles both binaries once; the replicas run the real daemon.
func build(ctx context.Context, work string, race bool) (cli, controller string, err error) {
	for _, name := range []string{"optimus", "optimus-controller"} {
		args := []string{"build", "-o", filepath.Join(work, "bin", name)}
		if race && name == "optimus-controller" {
			args = append(args, "-race")
		}
		logf("building %s (race detector: %v)", name, race && name == "optimus-controller")
		if out, err := exec.CommandContext(ctx, "go", append(args, "./cmd/"+name)...).CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("go build ./cmd/%s (run from the repository root): %v\n%s", name, err, out)
		}
	}
	return filepath.Join(work, "bin", "optimus"), filepath.Join(work, "bin", "optimus-controller"), nil
}

// setUp starts containers, etcd, one proxy per replica and etcd member,
// and the replicas on the first generation of the manifests.
func setUp(ctx context.Context, o options, c *cluster, first generation) error {
	var ctl string
	var err error
	if c.bin, ctl, err = build(ctx, c.work, o.race); err != nil {
		return err
	}
	// Fixed ports: a container stopped and started again keeps its address.
	ports := make([]int, o.containers)
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return err
		}
	}
	names := make([]string, o.containers)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%d", o.prefix, i+1)
	}
	c.undo = append(c.undo, func() {
		if err := testhost.Remove(context.Background(), names...); err != nil {
			logf("remove containers: %v", err)
		}
	})
	logf("starting %d test-host containers", o.containers)
	c.containers, err = testhost.Create(ctx, testhost.Options{N: o.containers, Prefix: o.prefix, Ports: ports,
		KeyDir: filepath.Join(c.work, "keys"), Labels: map[string]string{"optimus.chaos": strconv.Itoa(os.Getpid())}, Log: os.Stderr})
	if err != nil {
		return err
	}
	for _, th := range c.containers {
		if err := docker(ctx, "exec", th.Container, "mkdir", "-p", srvDir, auditDir); err != nil {
			return err
		}
	}
	width := len(strconv.Itoa(o.hosts))
	for i := range o.hosts {
		c.hosts = append(c.hosts, fleetHost{name: fmt.Sprintf("h%0*d", width, i+1), index: i, th: c.containers[i%len(c.containers)]})
	}

	logf("starting a 3-member etcd")
	c.etcd, err = etcdtest.Launch(filepath.Join(c.work, "etcd"), 3)
	if c.etcd != nil {
		c.undo = append(c.undo, c.etcd.Stop)
	}
	if err != nil {
		return err
	}

	for i := range o.replicas {
		id := fmt.Sprintf("r%d", i+1)
		addr, err := freePort()
		if err != nil {
			return err
		}
		// The same directory name everywhere: the inventory's set name
		// (--set) is the same, but each replica has its own copy.
		r := &replica{id: id, bin: ctl, addr: "127.0.0.1:" + strconv.Itoa(addr), stateDir: filepath.Join(c.work, id, "state"),
			manDir: filepath.Join(c.work, id, "manifests"), logPath: filepath.Join(c.work, id, "controller.log"),
			args: []string{"--resync", o.resync.String(), "--etcd-lease-ttl", o.ttl.String(), "--prune", "--set", "chaos",
				"--backoff-initial", "1s", "--backoff-max", (o.resync / 2).String()}}
		for _, m := range c.etcd.Members {
			p, err := newProxy(strings.TrimPrefix(m.ClientURL, "http://"))
			if err != nil {
				return err
			}
			c.undo = append(c.undo, p.Close)
			r.proxies = append(r.proxies, p)
		}
		c.replicas = append(c.replicas, r)
		c.manDirs = append(c.manDirs, r.manDir)
	}
	if err := writeManifests(c.manDirs, c.hosts, first, o.rollout); err != nil {
		return err
	}
	c.undo = append(c.undo, func() {
		for _, r := range c.replicas {
			r.Terminate(0)
		}
	})
	for _, r := range c.replicas {
		if err := os.MkdirAll(r.stateDir, 0o700); err != nil {
			return err
		}
		if err := r.Start(); err != nil {
			return err
		}
	}
	logf("%d replicas on %d hosts over %d containers; work directory %s", len(c.replicas), len(c.hosts), len(c.containers), c.work)
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// hostsOf maps each container to its Host resources.
func (c *cluster) hostsOf() map[string][]string {
	m := map[string][]string{}
	for _, h := range c.hosts {
		m[h.th.Container] = append(m[h.th.Container], h.name)
	}
	return m
}

// sampledPaths maps each container to the managed files the sampler reads.
func (c *cluster) sampledPaths() map[string][]string {
	m := map[string][]string{}
	for _, h := range c.hosts {
		m[h.th.Container] = append(m[h.th.Container], h.conf(), h.extra())
	}
	return m
}

// diff runs optimus diff from a fresh process on the final manifests: exit
// 0 means every host has converged to them, prune included.
func (c *cluster) diff(ctx context.Context) (int, string) {
	cmd := exec.CommandContext(ctx, c.bin, "diff", "-f", c.manDirs[0], "--set", "chaos", "--prune", "--no-history")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	}
	return -1, err.Error()
}
