package transport

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// keepaliveInterval is how often an idle or busy connection is checked; a
// peer that does not answer within it is dropped.
var keepaliveInterval = 15 * time.Second

// sshOpener dials a host with SSH and starts the shell in one session.
type sshOpener struct {
	name     string
	spec     *v1alpha1.HostSpec
	addr     string
	signer   ssh.Signer // from privateKeyFile
	password string     // from passwordFrom
	pwSource string
	// keepalive is keepaliveInterval when the opener was made.
	keepalive time.Duration

	mu     sync.Mutex
	client *ssh.Client
}

func sshAddr(spec *v1alpha1.HostSpec) string {
	return net.JoinHostPort(spec.Address, strconv.Itoa(spec.Port))
}

func newSSH(name string, spec *v1alpha1.HostSpec) (*sshOpener, error) {
	if spec.Address == "" {
		return nil, errors.New("spec.address is empty")
	}
	o := &sshOpener{name: name, spec: spec, addr: sshAddr(spec), keepalive: keepaliveInterval}
	if f := spec.PrivateKeyFile; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("privateKeyFile: %w", err)
		}
		o.signer, err = ssh.ParsePrivateKey(b)
		var pm *ssh.PassphraseMissingError
		if errors.As(err, &pm) {
			return nil, fmt.Errorf("privateKeyFile %s is protected by a passphrase: load it into ssh-agent (ssh-add %s) and set useAgent: true", f, f)
		}
		if err != nil {
			return nil, fmt.Errorf("privateKeyFile %s: %w", f, err)
		}
	}
	if src := spec.PasswordFrom; src != nil {
		pw, err := src.Resolve()
		if err != nil {
			return nil, fmt.Errorf("passwordFrom: %w", err)
		}
		o.password = pw
		o.pwSource = "env " + src.Env
		if src.File != "" {
			o.pwSource = "file " + src.File
		}
	}
	if spec.UseAgent && os.Getenv("SSH_AUTH_SOCK") == "" {
		return nil, errors.New("useAgent is set but SSH_AUTH_SOCK is not: start ssh-agent and add the key")
	}
	if o.signer == nil && o.password == "" && !spec.UseAgent && os.Getenv("SSH_AUTH_SOCK") == "" {
		return nil, errors.New("no way to authenticate: set privateKeyFile, passwordFrom or useAgent")
	}
	return o, nil
}

func (o *sshOpener) where() string { return o.addr }

func (o *sshOpener) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.client != nil {
		o.client.Close()
		o.client = nil
	}
}

func (o *sshOpener) fail(r Reason, format string, args ...any) error {
	return &startError{reason: r, err: fmt.Errorf(format, args...)}
}

func (o *sshOpener) open(ctx context.Context) (*shell, error) {
	o.close()
	timeout := o.spec.ConnectTimeout.Duration
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	tcp, err := (&net.Dialer{}).DialContext(dctx, "tcp", o.addr)
	if err != nil {
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return nil, o.fail(ReasonRefused, "connection refused: nothing listens on port %d (is sshd running, is the port right?)", o.spec.Port)
		case ctx.Err() != nil:
			return nil, fmt.Errorf("connect: %w", context.Cause(ctx))
		case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
			return nil, o.fail(ReasonTimeout, "connect timeout after %s: no TCP answer (is the host up? a firewall dropping packets?)", timeout)
		}
		return nil, o.fail(ReasonUnreachable, "connect: %v", err)
	}
	tcp.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { tcp.Close() })
	defer stop()

	sh, err := o.handshake(tcp, deadline)
	if err != nil {
		tcp.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connect: %w", context.Cause(ctx))
		}
		var se *startError
		if !time.Now().Before(deadline) && (!errors.As(err, &se) || se.reason != ReasonHostKey && se.reason != ReasonAuth && se.reason != ReasonBecome) {
			return nil, o.fail(ReasonTimeout, "connect timeout after %s: the port accepts connections but SSH did not complete (is the host paused or overloaded?): %v", timeout, err)
		}
		return nil, err
	}
	tcp.SetDeadline(time.Time{})
	return sh, nil
}

// handshake authenticates on tcp and starts the persistent shell.
func (o *sshOpener) handshake(tcp net.Conn, deadline time.Time) (*shell, error) {
	hostKeyCB, algos, hostKeyErr, err := o.hostKeyCallback()
	if err != nil {
		return nil, err
	}
	auth, tried, closeAgent, err := o.authMethods()
	if err != nil {
		return nil, err
	}
	defer closeAgent()
	cfg := &ssh.ClientConfig{
		User:              o.spec.User,
		Auth:              auth,
		HostKeyCallback:   hostKeyCB,
		HostKeyAlgorithms: algos,
	}
	c, chans, reqs, err := ssh.NewClientConn(tcp, o.addr, cfg)
	if err != nil {
		switch {
		case *hostKeyErr != nil:
			return nil, *hostKeyErr
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, o.fail(ReasonAuth, "authentication failed as %s (tried: %s); check the credentials and that the user may log in with them", o.spec.User, strings.Join(tried, ", "))
		}
		return nil, o.fail(ReasonUnreachable, "ssh handshake: %v", err)
	}
	client := ssh.NewClient(c, chans, reqs)
	sess, err := client.NewSession()
	if err != nil {
		client.Close()
		return nil, o.fail(ReasonUnreachable, "open session: %v", err)
	}
	stdin, err1 := sess.StdinPipe()
	stdout, err2 := sess.StdoutPipe()
	stderr, err3 := sess.StderrPipe()
	if err := errors.Join(err1, err2, err3); err != nil {
		client.Close()
		return nil, err
	}
	marker := newMarker()
	b := becomeOf(o.spec, o.spec.User)
	if err := sess.Start("exec " + quoteArgs(shellArgv(marker, b, sudoPrompt(marker)))); err != nil {
		client.Close()
		return nil, o.fail(ReasonUnreachable, "start the remote shell: %v", err)
	}
	ended := make(chan struct{})
	var endOnce sync.Once
	end := func() { endOnce.Do(func() { close(ended) }) }
	go func() { sess.Wait(); end() }()
	go func() { client.Wait(); end() }()
	p := process{
		stdin: stdin, stdout: stdout, stderr: stderr,
		abort: func() { sess.Close(); client.Close() },
		wait:  func() error { <-ended; return nil },
	}
	sh, err := startShell(p, marker, b, deadline)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	o.client = client
	o.mu.Unlock()
	go keepalive(client, ended, o.keepalive)
	return sh, nil
}

// keepalive drops a connection whose peer stopped answering, so that a
// batch on it fails instead of hanging.
func keepalive(client *ssh.Client, ended <-chan struct{}, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ended:
			return
		case <-t.C:
		}
		reply := make(chan error, 1)
		go func() {
			_, _, err := client.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		select {
		case err := <-reply:
			if err == nil {
				continue
			}
		case <-time.After(interval):
		case <-ended:
			return
		}
		client.Close()
		return
	}
}

// authMethods lists what to offer, in order: the key file and the agent's
// keys (one publickey method: the client tries each method name once),
// then the password.
func (o *sshOpener) authMethods() (methods []ssh.AuthMethod, tried []string, closeAgent func(), err error) {
	closeAgent = func() {}
	var signers []ssh.Signer
	if o.signer != nil {
		signers = append(signers, o.signer)
		tried = append(tried, fmt.Sprintf("publickey %s (%s)", o.spec.PrivateKeyFile, ssh.FingerprintSHA256(o.signer.PublicKey())))
	}
	if sock := os.Getenv("SSH_AUTH_SOCK"); o.spec.UseAgent || (sock != "" && o.signer == nil && o.password == "") {
		ac, err := net.Dial("unix", sock)
		if err != nil {
			return nil, nil, nil, o.fail(ReasonConfig, "ssh-agent at SSH_AUTH_SOCK=%s: %v", sock, err)
		}
		closeAgent = func() { ac.Close() }
		as, err := agent.NewClient(ac).Signers()
		if err != nil {
			ac.Close()
			return nil, nil, nil, o.fail(ReasonConfig, "ssh-agent: %v", err)
		}
		signers = append(signers, as...)
		tried = append(tried, fmt.Sprintf("publickey from ssh-agent (%d keys)", len(as)))
	}
	if len(signers) > 0 {
		methods = append(methods, ssh.PublicKeys(signers...))
	}
	if o.password != "" {
		pw := o.password
		methods = append(methods, ssh.Password(pw), ssh.KeyboardInteractive(
			func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = pw
				}
				return answers, nil
			}))
		tried = append(tried, "password from "+o.pwSource)
	}
	return methods, tried, closeAgent, nil
}

// hostKeyCallback checks the host key by the policy. known_hosts is read at
// every dial, so a key added by accept-new or by hand counts at once. The
// returned algorithms are the key types known_hosts holds for the host, so a
// server with several keys offers the one we know.
func (o *sshOpener) hostKeyCallback() (cb ssh.HostKeyCallback, algos []string, failure *error, err error) {
	failure = new(error)
	policy := o.spec.HostKey.Policy
	if policy == "insecure" {
		return ssh.InsecureIgnoreHostKey(), nil, failure, nil
	}
	file := o.spec.HostKey.KnownHostsFile
	if file == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, nil, nil, o.fail(ReasonConfig, "hostKey.knownHostsFile is not set and there is no home directory: %v", err)
		}
		file = filepath.Join(home, ".ssh", "known_hosts")
	}
	var files []string
	if _, err := os.Stat(file); err == nil {
		files = append(files, file)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil, o.fail(ReasonConfig, "hostKey.knownHostsFile: %v", err)
	}
	db, err := knownhosts.New(files...)
	if err != nil {
		return nil, nil, nil, o.fail(ReasonConfig, "hostKey.knownHostsFile: %v", err)
	}
	algos = knownAlgorithms(db, o.addr)
	entry := knownhosts.Normalize(o.addr)
	cb = func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := db(hostname, remote, key)
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		offered := key.Type() + " " + ssh.FingerprintSHA256(key)
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ke) && len(ke.Want) == 0 && policy == "accept-new":
			if err := appendKnownHost(file, o.addr, key); err != nil {
				*failure = o.fail(ReasonConfig, "accept-new: cannot add the host key to %s: %v", file, err)
				return *failure
			}
			return nil
		case errors.As(err, &ke) && len(ke.Want) == 0:
			*failure = o.fail(ReasonHostKey, "unknown host key (%s): %s is not in %s (check the fingerprint, then add it to %s, e.g. ssh-keyscan -p %d %s >> %s, or set hostKey.policy: accept-new)",
				offered, entry, file, file, o.spec.Port, o.spec.Address, file)
		case errors.As(err, &ke):
			var known []string
			for _, w := range ke.Want {
				known = append(known, fmt.Sprintf("%s %s at %s:%d", w.Key.Type(), ssh.FingerprintSHA256(w.Key), w.Filename, w.Line))
			}
			*failure = o.fail(ReasonHostKey, "host key mismatch: the key offered (%s) is not the one in known_hosts (%s); someone may be intercepting the connection, or the host was reinstalled: if the host was reinstalled, remove its line from %s (ssh-keygen -f %s -R '%s') and connect again",
				offered, strings.Join(known, "; "), file, file, entry)
		case errors.As(err, &re):
			*failure = o.fail(ReasonHostKey, "the host key (%s) is marked @revoked in %s", offered, file)
		default:
			*failure = o.fail(ReasonHostKey, "host key check: %v", err)
		}
		return *failure
	}
	return cb, algos, failure, nil
}

// probeKey is a key no host has: checking it makes knownhosts list the keys
// it knows for an address.
var probeKey = sync.OnceValue(func() ssh.PublicKey {
	pub, _, _ := ed25519.GenerateKey(nil)
	k, _ := ssh.NewPublicKey(pub)
	return k
})

func knownAlgorithms(db ssh.HostKeyCallback, addr string) []string {
	tcpAddr, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if !errors.As(db(addr, tcpAddr, probeKey()), &ke) || len(ke.Want) == 0 {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	for _, w := range ke.Want {
		t := w.Key.Type()
		names := []string{t}
		if t == ssh.KeyAlgoRSA {
			names = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
		}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				algos = append(algos, n)
			}
		}
	}
	return algos
}

var knownHostsMu sync.Mutex

func appendKnownHost(file, addr string, key ssh.PublicKey) error {
	knownHostsMu.Lock()
	defer knownHostsMu.Unlock()
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, knownhosts.Line([]string{knownhosts.Normalize(addr)}, key))
	return errors.Join(err, f.Close())
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
