package transport

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/test/testhost"
)

func whoami(t *testing.T, h *v1alpha1.Host) string {
	t.Helper()
	r := run(t, dial(t, h), "id -un")
	return strings.TrimSpace(string(r.Stdout))
}

func TestAuthKey(t *testing.T) {
	h := shared(t).Resource()
	if got := whoami(t, h); got != "root" {
		t.Errorf("logged in as %q", got)
	}
	h.Spec.User = testhost.Deploy
	if got := whoami(t, h); got != testhost.Deploy {
		t.Errorf("logged in as %q", got)
	}
}

func TestAuthAgent(t *testing.T) {
	h := shared(t).Resource()
	key, err := os.ReadFile(h.Spec.PrivateKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := ssh.ParseRawPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: raw}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(keyring, c); c.Close() }()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
	h.Spec.PrivateKeyFile = ""
	h.Spec.UseAgent = true
	if got := whoami(t, h); got != "root" {
		t.Errorf("logged in as %q", got)
	}
}

func TestAuthPassword(t *testing.T) {
	h := shared(t).Resource()
	h.Spec.PrivateKeyFile = ""
	t.Setenv("SSH_AUTH_SOCK", "")
	t.Setenv("TEST_SSH_PASSWORD", testhost.RootPassword)
	h.Spec.PasswordFrom = &v1alpha1.SecretSource{Env: "TEST_SSH_PASSWORD"}
	if got := whoami(t, h); got != "root" {
		t.Errorf("logged in as %q", got)
	}

	t.Setenv("TEST_SSH_PASSWORD", "wrong")
	ce := dialErr(t, h, ReasonAuth, "authentication failed as root", "tried: password from env TEST_SSH_PASSWORD")
	if strings.Contains(ce.Error(), "wrong") {
		t.Errorf("the password leaked into the error: %v", ce)
	}
}

func TestAuthWrongKey(t *testing.T) {
	t.Setenv("SSH_AUTH_SOCK", "")
	h := shared(t).Resource()
	_, sk, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(sk, "")
	if err != nil {
		t.Fatal(err)
	}
	h.Spec.PrivateKeyFile = filepath.Join(t.TempDir(), "other")
	if err := os.WriteFile(h.Spec.PrivateKeyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	ce := dialErr(t, h, ReasonAuth, "authentication failed as root", "tried: publickey "+h.Spec.PrivateKeyFile)
	if ce.Retryable() || !IsTerminal(ce) {
		t.Error("an authentication failure is terminal")
	}
	h.Spec.PrivateKeyFile = filepath.Join(t.TempDir(), "missing")
	dialErr(t, h, ReasonConfig, "privateKeyFile", "missing")
}

func TestHostKeyUnknownAndAcceptNew(t *testing.T) {
	h := shared(t).Resource()
	kh := filepath.Join(t.TempDir(), "known_hosts")
	h.Spec.HostKey.KnownHostsFile = kh
	dialErr(t, h, ReasonHostKey, "unknown host key", "[127.0.0.1]:"+strconv.Itoa(h.Spec.Port), "add it to "+kh, "hostKey.policy: accept-new")

	h.Spec.HostKey.Policy = "accept-new"
	whoami(t, h)
	b, err := os.ReadFile(kh)
	if err != nil || !strings.HasPrefix(string(b), "[127.0.0.1]:"+strconv.Itoa(h.Spec.Port)+" ") {
		t.Fatalf("accept-new did not append the key: %q %v", b, err)
	}
	h.Spec.HostKey.Policy = "strict"
	whoami(t, h) // the appended key is trusted now
}

func TestHostKeyMismatch(t *testing.T) {
	s := scratch(t)
	h := s.Resource()
	t.Cleanup(func() { s.RefreshKnownHosts(t) })
	s.RotateHostKeys(t)
	dialErr(t, h, ReasonHostKey, "host key mismatch", "the key offered", "not the one in known_hosts",
		"if the host was reinstalled, remove its line from "+h.Spec.HostKey.KnownHostsFile)

	h.Spec.HostKey.Policy = "accept-new" // never overrides a changed key
	dialErr(t, h, ReasonHostKey, "host key mismatch")

	h.Spec.HostKey.Policy = "insecure"
	whoami(t, h)
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestRefusedFailsFast(t *testing.T) {
	h := shared(t).Resource()
	h.Spec.Port = freePort(t)
	// A refusal, not the connect timeout running out: with a timeout this
	// long, only the refusal can end the dial in the test's time.
	h.Spec.ConnectTimeout = &v1alpha1.Duration{Duration: time.Hour}
	ce := dialErr(t, h, ReasonRefused, "connection refused")
	if !ce.Retryable() {
		t.Error("a refused connection is retryable")
	}
}

func TestPausedHostTimesOut(t *testing.T) {
	s := scratch(t)
	h := s.Resource()
	h.Spec.ConnectTimeout = &v1alpha1.Duration{Duration: time.Second}
	s.Pause(t)
	t.Cleanup(func() { s.Unpause(t) })
	start := time.Now()
	dialErr(t, h, ReasonTimeout, "connect timeout after 1s")
	if d := time.Since(start); d < time.Second || d > 2500*time.Millisecond {
		t.Errorf("connect timeout 1s took %s", d)
	}
}

func TestBecome(t *testing.T) {
	h := shared(t).Resource()
	h.Spec.User = testhost.Deploy
	h.Spec.Become = &v1alpha1.BecomeSpec{}
	if got := whoami(t, h); got != "root" {
		t.Errorf("deploy became %q", got)
	}

	h.Spec.User = testhost.Operator
	t.Setenv("TEST_SUDO_PASSWORD", testhost.OperatorPassword)
	h.Spec.Become = &v1alpha1.BecomeSpec{User: testhost.Deploy, PasswordFrom: &v1alpha1.SecretSource{Env: "TEST_SUDO_PASSWORD"}}
	c := dial(t, h)
	rs := batch(t, c, Command{Script: "id -un"}, Command{Script: "cat", Stdin: []byte("payload")}, Command{Script: "echo err >&2; exit 4"})
	if string(rs[0].Stdout) != "deploy\n" || string(rs[1].Stdout) != "payload" || rs[2].ExitCode != 4 || string(rs[2].Stderr) != "err\n" {
		t.Errorf("operator became deploy: %+v", rs)
	}

	t.Setenv("TEST_SUDO_PASSWORD", "wrong-password")
	ce := dialErr(t, h, ReasonBecome, "sudo rejected the password from become.passwordFrom", "operator")
	if strings.Contains(ce.Error(), "wrong-password") {
		t.Errorf("the password leaked: %v", ce)
	}
	h.Spec.Become.PasswordFrom = nil
	dialErr(t, h, ReasonBecome, "sudo asks operator for a password", "set become.passwordFrom")
}

func TestDroppedConnection(t *testing.T) {
	s := scratch(t)
	c := dial(t, s.Resource())
	// The parent of the persistent shell is this connection's sshd.
	sshd := strings.TrimSpace(string(run(t, c, "echo $PPID").Stdout))

	// Dropped between batches: the next batch reconnects, once.
	s.Exec(t, "kill -9 "+sshd)
	waitDead(t, c)
	if r := run(t, c, "echo back"); string(r.Stdout) != "back\n" {
		t.Fatalf("after a reconnect: %+v", r)
	}

	// Dropped during a batch: an error, never a hang or a silent rerun.
	sshd = strings.TrimSpace(string(run(t, c, "echo $PPID").Stdout))
	killed := make(chan time.Time, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		// Not testhost.Exec: t.Fatal must not run outside the test goroutine.
		if out, err := exec.Command("docker", "exec", s.Container, "kill", "-9", sshd).CombinedOutput(); err != nil {
			t.Errorf("kill sshd: %v %s", err, out)
		}
		killed <- time.Now()
	}()
	start := time.Now()
	_, err := c.Batch(context.Background(), []Command{{Script: "touch /tmp/first"}, {Script: "sleep 3"}, {Script: "touch /tmp/never"}})
	if err == nil || !strings.Contains(err.Error(), "connection lost during a batch") || !strings.Contains(err.Error(), "not retried") {
		t.Fatalf("want a lost-connection error, got %v", err)
	}
	if d := time.Since(<-killed); d > time.Second {
		t.Errorf("noticed the drop %s after it happened", d)
	}
	// The orphaned shell stops at its next write instead of going on.
	time.Sleep(time.Until(start.Add(3500 * time.Millisecond)))
	if out := s.Exec(t, "ls /tmp/first /tmp/never 2>/dev/null; rm -f /tmp/first /tmp/never"); out != "/tmp/first\n" {
		t.Errorf("want only the command before the drop to have run, got %q", out)
	}
}

// waitDead waits until c has noticed that its shell ended.
func waitDead(t *testing.T, c Conn) {
	t.Helper()
	sh := c.(*conn).sh
	select {
	case <-sh.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the connection did not notice that sshd died")
	}
}

func TestDockerTransportMissingContainer(t *testing.T) {
	testhost.RequireDocker(t)
	dialErr(t, dockerHost("optimus-no-such-container"), ReasonUnreachable, "docker container optimus-no-such-container", "No such container")
}

func TestPausedMidBatch(t *testing.T) {
	s := scratch(t)
	defer func(d time.Duration) { keepaliveInterval = d }(keepaliveInterval)
	keepaliveInterval = 300 * time.Millisecond
	c := dial(t, s.Resource())
	run(t, c, "true")
	s.Pause(t)
	t.Cleanup(func() { s.Unpause(t) })
	start := time.Now()
	_, err := c.Batch(context.Background(), []Command{{Script: "true"}})
	if err == nil || !strings.Contains(err.Error(), "connection lost") {
		t.Fatalf("want a lost connection, got %v", err)
	}
	t.Logf("the keepalive noticed the silent host after %s", time.Since(start).Round(time.Millisecond))
}

// TestIdleDirectConnectionKeptByTheKernel: an idle connection is not
// probed over SSH; the kernel's TCP keepalive watches it instead, so a host
// that vanishes is still noticed between batches and the next batch
// reconnects. The socket of a real connection carries the settings.
func TestIdleDirectConnectionKeptByTheKernel(t *testing.T) {
	h := shared(t).Resource()
	ep, err := newEndpoint(h.Metadata.Name, h.Spec, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := newBastionPool().dialHop(context.Background(), ep, nil, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer c.conn.Close()
	raw, err := c.heard.Conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct{ level, opt, value int }{
		"SO_KEEPALIVE":  {syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1},
		"TCP_KEEPIDLE":  {syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, int(tcpKeepAlive.Idle / time.Second)},
		"TCP_KEEPINTVL": {syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, int(tcpKeepAlive.Interval / time.Second)},
		"TCP_KEEPCNT":   {syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT, tcpKeepAlive.Count},
	}
	for name, w := range want {
		var got int
		var gerr error
		if err := raw.Control(func(fd uintptr) { got, gerr = syscall.GetsockoptInt(int(fd), w.level, w.opt) }); err != nil {
			t.Fatal(err)
		}
		if gerr != nil || got != w.value {
			t.Errorf("%s = %d (%v), want %d", name, got, gerr, w.value)
		}
	}
}

func TestCancelMidBatch(t *testing.T) {
	for name, h := range map[string]func(t *testing.T) *v1alpha1.Host{
		"local": func(*testing.T) *v1alpha1.Host { return localHost() },
		"ssh":   func(t *testing.T) *v1alpha1.Host { return shared(t).Resource() },
	} {
		t.Run(name, func(t *testing.T) {
			c := dial(t, h(t))
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			// Far longer than a loaded machine takes to stop it: only a
			// batch that was not stopped runs that long.
			_, err := c.Batch(ctx, []Command{{Script: "sleep 600"}})
			if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Minute {
				t.Fatalf("after %s: %v", time.Since(start), err)
			}
			if r := run(t, c, "echo again"); string(r.Stdout) != "again\n" {
				t.Errorf("the next batch: %+v", r)
			}
		})
	}
}
