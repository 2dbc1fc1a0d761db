package etcdtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Binary is the etcd server the helpers run; ETCD_BIN overrides it.
func Binary() string {
	if b := os.Getenv("ETCD_BIN"); b != "" {
		return b
	}
	return "etcd"
}

// install finds the etcd server, and installs Debian's etcd-server with
// apt-get when it is missing and this process is root: the programs that
// launch a cluster (hack/bench, hack/chaos) set up what they need, as the
// test-host image installs mmdebstrap.
func install() (string, error) {
	if path, err := exec.LookPath(Binary()); err == nil || os.Getenv("ETCD_BIN") != "" {
		return path, err
	}
	if os.Geteuid() != 0 {
		return "", errors.New("etcd server not found, and installing it needs root: run apt-get install etcd-server")
	}
	fmt.Fprintln(os.Stderr, "installing etcd-server with apt-get")
	for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "--no-install-recommends", "etcd-server"}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("apt-get %s: %v\n%s", args[0], err, out)
		}
	}
	return exec.LookPath(Binary())
}

// Require skips the test when no etcd server is installed, except under
// CI=true, where a missing server is a failure: CI must run these tests.
func Require(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath(Binary())
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("etcd server not found (CI=true, so this is not skipped; hack/test.sh installs etcd-server): %v", err)
	}
	t.Skipf("etcd server not found (apt-get install etcd-server): %v", err)
	return ""
}

// Member is one etcd server process.
type Member struct {
	Name      string
	ClientURL string
	PeerURL   string
	dir       string
	args      []string
	logPath   string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Cluster is a set of members started together.
type Cluster struct {
	Members []*Member
}

// Endpoints lists the client URLs of every member.
func (c *Cluster) Endpoints() []string {
	var eps []string
	for _, m := range c.Members {
		eps = append(eps, m.ClientURL)
	}
	return eps
}

// Client returns a client of the whole cluster, closed when the test ends.
func (c *Cluster) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("etcd client: %v", err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// Start starts a single-member etcd.
func Start(t testing.TB) *Cluster { return StartCluster(t, 1) }

// StartCluster starts an n-member etcd cluster and waits until it answers.
// A port picked free can be taken before etcd binds it (by another test's
// listener, or a connection given it as its local port): the cluster is
// then started again on other ports.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	bin := Require(t)
	base := t.TempDir()
	for attempt := 1; ; attempt++ {
		c, err := startCluster(bin, filepath.Join(base, fmt.Sprint(attempt)), n)
		if err == nil {
			t.Cleanup(func() {
				for _, m := range c.Members {
					m.Stop()
				}
			})
			t.Cleanup(func() {
				if t.Failed() {
					for _, m := range c.Members {
						if b, err := os.ReadFile(m.logPath); err == nil && len(b) > 0 {
							t.Logf("etcd %s log (tail):\n%s", m.Name, tail(b, 3000))
						}
					}
				}
			})
			return c
		}
		if !errors.Is(err, errPortTaken) || attempt == maxStarts {
			t.Fatalf("etcd (attempt %d): %v", attempt, err)
		}
		t.Logf("etcd: %v; starting it again on other ports", err)
	}
}

// Launch starts an n-member cluster with its data directories and logs
// under base and waits until every member answers, picking other ports when
// one was taken, as StartCluster does. It is StartCluster for a program
// (hack/chaos) rather than a test: the caller stops the cluster with Stop.
func Launch(base string, n int) (*Cluster, error) {
	bin, err := install()
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		c, err := startCluster(bin, filepath.Join(base, fmt.Sprint(attempt)), n)
		if err == nil || !errors.Is(err, errPortTaken) || attempt == maxStarts {
			return c, err
		}
	}
}

// Stop kills every member.
func (c *Cluster) Stop() {
	for _, m := range c.Members {
		m.Stop()
	}
}

// LogPath is the file the member's output goes to.
func (m *Member) LogPath() string { return m.logPath }

// maxStarts bounds how often StartCluster picks new ports.
const maxStarts = 5

// errPortTaken is a member that could not bind a port picked for it.
var errPortTaken = errors.New("a port picked for etcd was taken before etcd bound it")

// startCluster starts the members in dir and waits until they answer; on
// error it stops every member it started.
func startCluster(bin, dir string, n int) (*Cluster, error) {
	c := &Cluster{}
	var initial []string
	taken := map[int]bool{}
	for i := range n {
		name := fmt.Sprintf("m%d", i+1)
		cport, pport := freePort(taken), freePort(taken)
		m := &Member{Name: name, ClientURL: fmt.Sprintf("http://127.0.0.1:%d", cport),
			PeerURL: fmt.Sprintf("http://127.0.0.1:%d", pport), dir: filepath.Join(dir, name),
			logPath: filepath.Join(dir, name+".log")}
		initial = append(initial, name+"="+m.PeerURL)
		c.Members = append(c.Members, m)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	stopAll := func() {
		for _, m := range c.Members {
			m.Stop()
		}
	}
	for _, m := range c.Members {
		m.args = []string{bin, "--name", m.Name, "--data-dir", m.dir,
			"--listen-client-urls", m.ClientURL, "--advertise-client-urls", m.ClientURL,
			"--listen-peer-urls", m.PeerURL, "--initial-advertise-peer-urls", m.PeerURL,
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", "optimus-test",
			// Short raft timings: a test cluster on loopback elects a leader fast.
			"--heartbeat-interval", "50", "--election-timeout", "500",
			"--log-level", "warn"}
		if err := m.Start(); err != nil {
			stopAll()
			return nil, fmt.Errorf("start etcd %s: %w", m.Name, err)
		}
	}
	for _, m := range c.Members {
		if err := m.WaitReady(60 * time.Second); err != nil {
			stopAll()
			return nil, fmt.Errorf("etcd %s: %w", m.Name, err)
		}
	}
	return c, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// Start (re)starts the member's process with its data directory.
func (m *Member) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		return nil
	}
	logf, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(m.args[0], m.args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = logf.Close(); close(exited) }()
	m.cmd, m.exited = cmd, exited
	return nil
}

// Stop kills the member's process (SIGKILL: a crash, not a clean leave) and
// keeps its data directory so that Start brings it back.
func (m *Member) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.exited
	m.cmd = nil
}

// WaitReady waits until the member answers a read.
func (m *Member) WaitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	// A member not up yet makes the client log every retry; the error
	// returned says it all.
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{m.ClientURL}, DialTimeout: time.Second, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer cli.Close()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := cli.Get(ctx, "health")
		cancel()
		if err == nil {
			return nil
		}
		if m.hasExited() {
			b, _ := os.ReadFile(m.logPath)
			if strings.Contains(string(b), "address already in use") {
				return fmt.Errorf("%w: %s", errPortTaken, strings.TrimSpace(tail(b, 500)))
			}
			return fmt.Errorf("exited before it was ready: %s", strings.TrimSpace(tail(b, 1000)))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %w", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// hasExited reports whether the member's process has ended by itself.
func (m *Member) hasExited() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return false
	}
	select {
	case <-m.exited:
		return true
	default:
		return false
	}
}

// freePort picks a free loopback port below the usual ephemeral range
// (32768 and up), where the kernel gives connections their local ports, so
// that no outgoing connection takes it before etcd binds it; one of taken
// is never picked twice.
func freePort(taken map[int]bool) int {
	for range 100 {
		p := 20000 + rand.IntN(12000)
		if taken[p] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		taken[p] = true
		return p
	}
	// Crowded: let the kernel pick one.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer ln.Close()
	p := ln.Addr().(*net.TCPAddr).Port
	taken[p] = true
	return p
}
