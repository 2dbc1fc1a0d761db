package testhost

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	dockerOnce sync.Once
	dockerErr  error
)

// RequireDocker skips the test when Docker is not usable, except under
// CI=true, where a missing Docker is a failure: CI must run these tests.
func RequireDocker(t testing.TB) {
	t.Helper()
	dockerOnce.Do(func() {
		if _, err := exec.LookPath("docker"); err != nil {
			dockerErr = err
			return
		}
		if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
			dockerErr = fmt.Errorf("docker version: %v: %s", err, strings.TrimSpace(string(out)))
		}
	})
	if dockerErr == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("test hosts need Docker (CI=true, so this is not skipped): %v", dockerErr)
	}
	t.Skipf("test hosts need Docker: %v", dockerErr)
}

// Start starts n hosts for one test and removes them when it ends.
func Start(t testing.TB, n int) []*Host {
	t.Helper()
	return StartWith(t, n)
}

// StartWith is Start with extra docker run arguments for every host, such
// as CapSysAdmin.
func StartWith(t testing.TB, n int, runArgs ...string) []*Host {
	t.Helper()
	RequireDocker(t)
	prefix := containerPrefix(t.Name())
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%d", prefix, i+1)
	}
	t.Cleanup(func() {
		if err := Remove(context.Background(), names...); err != nil {
			t.Errorf("remove test hosts: %v", err)
		}
	})
	reapOrphans(context.Background())
	hosts, err := Create(context.Background(), Options{N: n, Prefix: prefix, KeyDir: t.TempDir(), Log: logWriter{t}, RunArgs: runArgs})
	if err != nil {
		t.Fatalf("start test hosts: %v", err)
	}
	return hosts
}

// StartNetwork starts n hosts on a Docker network of their own, for one
// test: the last private of them publish no port and are reachable only
// through one of the others as a bastion, by container name. The hosts and
// the network are removed when the test ends.
func StartNetwork(t testing.TB, n, private int) []*Host {
	t.Helper()
	RequireDocker(t)
	prefix := containerPrefix(t.Name())
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%d", prefix, i+1)
	}
	network := prefix + "-net"
	ctx := context.Background()
	t.Cleanup(func() {
		// Containers first: a network with members cannot be removed.
		if err := Remove(ctx, names...); err != nil {
			t.Errorf("remove test hosts: %v", err)
		}
		// Docker may still be detaching the removed containers.
		var err error
		for range 20 {
			if _, err = docker(ctx, nil, "network", "rm", network); err == nil || strings.Contains(err.Error(), "not found") {
				return
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Errorf("remove test network: %v", err)
	})
	reapOrphans(ctx)
	Remove(ctx, names...)
	docker(ctx, nil, "network", "rm", network) // a leftover of an earlier run of this process id
	if _, err := docker(ctx, nil, "network", "create", "--label", LabelTest+"=1", "--label", LabelPID+"="+strconv.Itoa(os.Getpid()), network); err != nil {
		t.Fatalf("create test network: %v", err)
	}
	hosts, err := Create(ctx, Options{N: n, Private: private, Network: network, Prefix: prefix, KeyDir: t.TempDir(), Log: logWriter{t}})
	if err != nil {
		t.Fatalf("start test hosts: %v", err)
	}
	return hosts
}

// Pool starts N hosts once, on first use, for a whole test package. Call
// Close from TestMain after m.Run.
type Pool struct {
	// N is the number of hosts.
	N int

	once   sync.Once
	prefix string
	dir    string
	hosts  []*Host
	err    error
}

// Hosts returns the pool's hosts, starting them on the first call.
func (p *Pool) Hosts(t testing.TB) []*Host {
	t.Helper()
	RequireDocker(t)
	p.once.Do(func() {
		reapOrphans(context.Background())
		p.prefix = containerPrefix("pool")
		if p.dir, p.err = os.MkdirTemp("", "optimus-testhost-"); p.err != nil {
			return
		}
		p.hosts, p.err = Create(context.Background(), Options{N: max(p.N, 1), Prefix: p.prefix, KeyDir: p.dir, Log: os.Stderr})
	})
	if p.err != nil {
		t.Fatalf("start test hosts: %v", p.err)
	}
	return p.hosts
}

// Close removes the pool's containers and files.
func (p *Pool) Close() {
	p.once.Do(func() {}) // a pool never used stays unused
	var names []string
	for _, h := range p.hosts {
		names = append(names, h.Container)
	}
	if err := Remove(context.Background(), names...); err != nil {
		fmt.Fprintf(os.Stderr, "testhost: %v\n", err)
	}
	if p.dir != "" {
		os.RemoveAll(p.dir)
	}
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// containerPrefix makes names unique per test process and readable in docker ps.
func containerPrefix(name string) string {
	name = strings.ToLower(strings.Trim(unsafeName.ReplaceAllString(name, "-"), "-."))
	if len(name) > 40 {
		name = name[:40]
	}
	return fmt.Sprintf("optimus-test-%d-%s", os.Getpid(), name)
}

// Exec runs script with sh inside container and returns its stdout; a
// failure fails the test.
func Exec(t testing.TB, container, script string) string {
	t.Helper()
	out, err := docker(context.Background(), nil, "exec", container, "sh", "-c", script)
	if err != nil {
		t.Fatalf("exec in %s: %v", container, err)
	}
	return out
}

// Exec runs script inside the host's container.
func (h *Host) Exec(t testing.TB, script string) string {
	t.Helper()
	return Exec(t, h.Container, script)
}

// Stop stops the container; Start brings it back.
func (h *Host) Stop(t testing.TB) { t.Helper(); h.docker(t, "stop", "-t", "1", h.Container) }

// Pause freezes every process of the container: connections are accepted
// by Docker but never answered. On a loaded machine the cgroup freezer can
// time out ("unable to freeze"): Pause tries again, and skips the test
// with that reason if Docker keeps refusing, since the test cannot show
// anything about Optimus then. Any other failure fails the test.
func (h *Host) Pause(t testing.TB) {
	t.Helper()
	var err error
	for attempt := 1; attempt <= pauseAttempts; attempt++ {
		if _, err = docker(context.Background(), nil, "pause", h.Container); err == nil {
			return
		}
		if !strings.Contains(err.Error(), "freeze") {
			t.Fatal(err)
		}
		t.Logf("docker pause %s, attempt %d: %v", h.Container, attempt, err)
		time.Sleep(time.Duration(attempt) * time.Second)
	}
	t.Skipf("docker could not freeze %s in %d attempts, a limit of this machine's cgroup freezer under load, not a failure of what the test checks: %v", h.Container, pauseAttempts, err)
}

// pauseAttempts is how often Pause asks Docker to freeze a container.
const pauseAttempts = 5

// Unpause thaws a paused container.
func (h *Host) Unpause(t testing.TB) { t.Helper(); h.docker(t, "unpause", h.Container) }

// Start starts a stopped container, waits for sshd and rewrites known_hosts
// (Docker may publish it on another port).
func (h *Host) Start(t testing.TB) {
	t.Helper()
	h.docker(t, "start", h.Container)
	h.RefreshKnownHosts(t)
}

// RotateHostKeys gives the host new SSH host keys and restarts sshd, but
// leaves known_hosts alone, as a reinstalled machine would.
func (h *Host) RotateHostKeys(t testing.TB) {
	t.Helper()
	h.Exec(t, "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && kill -HUP 1")
	ctx := context.Background()
	if err := h.readHostKeys(ctx); err != nil {
		t.Fatal(err)
	}
	wait := h.waitSSH
	if h.Private {
		wait = h.waitListening
	}
	if err := wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// RefreshKnownHosts reads the host's current port and keys and rewrites the
// set's known_hosts file.
func (h *Host) RefreshKnownHosts(t testing.TB) {
	t.Helper()
	if err := h.refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := h.set.writeKnownHosts(); err != nil {
		t.Fatal(err)
	}
}

func (h *Host) docker(t testing.TB, args ...string) {
	t.Helper()
	if _, err := docker(context.Background(), nil, args...); err != nil {
		t.Fatal(err)
	}
}

// logWriter sends build progress to the test log.
type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
