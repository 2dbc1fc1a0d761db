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
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// keepaliveInterval is how often a connection running a batch is checked
// (an idle one less often, see idleProbes); a peer that does not answer
// within it is dropped.
var keepaliveInterval = 15 * time.Second

// sshEndpoint is one SSH server on the way to a host: the host itself, or
// a bastion in front of it (via), which may have a bastion of its own.
type sshEndpoint struct {
	// name is the Host resource's name, or the address of an inline bastion.
	name     string
	address  string
	port     int
	addr     string // address:port, as dialled (by the bastion when via is set)
	user     string
	keyFile  string
	signer   ssh.Signer // from keyFile
	password string     // from passwordFrom
	pwSource string
	useAgent bool
	hostKey  v1alpha1.HostKeySpec
	timeout  time.Duration
	via      *sshEndpoint
}

// where says how the endpoint is reached: "127.0.0.1:2222", or
// "web2:22 via bastion1" behind a bastion.
func (e *sshEndpoint) where() string {
	if e.via == nil {
		return e.addr
	}
	return e.addr + " via " + e.via.name
}

// key identifies what a connection to the endpoint is made of, so that
// hosts behind the same bastion share one connection to it.
func (e *sshEndpoint) key() string {
	k := strings.Join([]string{e.name, e.user, e.addr, e.keyFile, e.pwSource, strconv.FormatBool(e.useAgent),
		e.hostKey.KnownHostsFile, e.hostKey.Policy}, "\x00")
	if e.via != nil {
		k += "\x00via\x00" + e.via.key()
	}
	return k
}

func sshAddr(spec *v1alpha1.HostSpec) string {
	return net.JoinHostPort(spec.Address, strconv.Itoa(spec.Port))
}

// maxJumps bounds a chain of bastions; the loader refuses cycles, this
// guards hosts built in Go.
const maxJumps = 8

// newEndpoint describes the host of a defaulted spec and, through its jump,
// every bastion in front of it.
func newEndpoint(name string, spec *v1alpha1.HostSpec, depth int) (*sshEndpoint, error) {
	if spec.Address == "" {
		return nil, errors.New("spec.address is empty")
	}
	e := &sshEndpoint{name: name, address: spec.Address, port: spec.Port, addr: sshAddr(spec), user: spec.User,
		keyFile: spec.PrivateKeyFile, useAgent: spec.UseAgent, hostKey: spec.HostKey, timeout: spec.ConnectTimeout.Duration}
	if err := e.loadCredentials(spec.PasswordFrom); err != nil {
		return nil, err
	}
	if j := spec.Jump; j != nil {
		if depth >= maxJumps {
			return nil, fmt.Errorf("more than %d bastions in a row: is there a jump cycle through %s?", maxJumps, name)
		}
		via, err := bastionEndpoint(spec, j, depth)
		if err != nil {
			return nil, err
		}
		e.via = via
	}
	return e, nil
}

// bastionEndpoint describes the bastion j of the host whose spec is given:
// a Host resource, or an inline address that borrows the host's user, key
// and known_hosts unless it names its own.
func bastionEndpoint(spec *v1alpha1.HostSpec, j *v1alpha1.JumpSpec, depth int) (*sshEndpoint, error) {
	if j.Host != "" {
		b := j.Bastion()
		if b == nil || b.Spec == nil {
			return nil, fmt.Errorf("jump.host %s is not linked to its Host: load the manifests with the manifest loader, or call SetBastion", j.Host)
		}
		bspec := withDefaults(b)
		if bspec.Transport != "ssh" {
			return nil, fmt.Errorf("bastion %s has transport %s: a bastion must use ssh", j.Host, bspec.Transport)
		}
		via, err := newEndpoint(b.Metadata.Name, bspec, depth+1)
		if err != nil {
			return nil, fmt.Errorf("bastion %s: %w", j.Host, err)
		}
		return via, nil
	}
	inline := &v1alpha1.HostSpec{Address: j.Address, Port: j.Port, User: j.User, PrivateKeyFile: j.PrivateKeyFile,
		HostKey: j.HostKey, ConnectTimeout: spec.ConnectTimeout}
	if inline.User == "" {
		inline.User = spec.User
	}
	if inline.PrivateKeyFile == "" {
		inline.PrivateKeyFile, inline.UseAgent = spec.PrivateKeyFile, spec.UseAgent
	}
	if inline.HostKey.KnownHostsFile == "" {
		inline.HostKey.KnownHostsFile = spec.HostKey.KnownHostsFile
	}
	if inline.HostKey.Policy == "" {
		inline.HostKey.Policy = spec.HostKey.Policy
	}
	inline.Default(nil)
	via, err := newEndpoint(j.Address, inline, depth+1)
	if err != nil {
		return nil, fmt.Errorf("bastion %s: %w", j.Address, err)
	}
	return via, nil
}

// loadCredentials reads the key file and the password now, so that a
// missing key is a configuration error before any network traffic.
func (e *sshEndpoint) loadCredentials(pw *v1alpha1.SecretSource) error {
	if f := e.keyFile; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("privateKeyFile: %w", err)
		}
		e.signer, err = ssh.ParsePrivateKey(b)
		var pm *ssh.PassphraseMissingError
		if errors.As(err, &pm) {
			return fmt.Errorf("privateKeyFile %s is protected by a passphrase: load it into ssh-agent (ssh-add %s) and set useAgent: true", f, f)
		}
		if err != nil {
			return fmt.Errorf("privateKeyFile %s: %w", f, err)
		}
	}
	if pw != nil {
		p, err := pw.Resolve()
		if err != nil {
			return fmt.Errorf("passwordFrom: %w", err)
		}
		e.password = p
		e.pwSource = "env " + pw.Env
		if pw.File != "" {
			e.pwSource = "file " + pw.File
		}
	}
	if e.useAgent && os.Getenv("SSH_AUTH_SOCK") == "" {
		return errors.New("useAgent is set but SSH_AUTH_SOCK is not: start ssh-agent and add the key")
	}
	if e.signer == nil && e.password == "" && !e.useAgent && os.Getenv("SSH_AUTH_SOCK") == "" {
		return errors.New("no way to authenticate: set privateKeyFile, passwordFrom or useAgent")
	}
	return nil
}

func (e *sshEndpoint) fail(r Reason, format string, args ...any) error {
	return &startError{reason: r, err: fmt.Errorf(format, args...)}
}

// hopError is a failure at a bastion rather than at the host behind it.
type hopError struct {
	hop *sshEndpoint
	err error
}

func (e *hopError) Error() string { return "bastion " + e.hop.name + ": " + e.err.Error() }
func (e *hopError) Unwrap() error { return e.err }

// atHop attributes err to the bastion hop, unless a bastion further out
// already claimed it.
func atHop(hop *sshEndpoint, err error) error {
	var he *hopError
	if errors.As(err, &he) {
		return err
	}
	return &hopError{hop: hop, err: err}
}

// sshOpener dials a host with SSH, through its bastions if it has any, and
// starts the shell in one session.
type sshOpener struct {
	ep       *sshEndpoint
	spec     *v1alpha1.HostSpec
	bastions *bastionPool
	// keepalive is keepaliveInterval when the opener was made.
	keepalive time.Duration

	mu      sync.Mutex
	conn    ssh.Conn
	release func() // gives back the bastion connection
}

func newSSH(name string, spec *v1alpha1.HostSpec, bastions *bastionPool) (*sshOpener, error) {
	ep, err := newEndpoint(name, spec, 0)
	if err != nil {
		return nil, err
	}
	return &sshOpener{ep: ep, spec: spec, bastions: bastions, keepalive: keepaliveInterval}, nil
}

func (o *sshOpener) where() string { return o.ep.where() }

func (o *sshOpener) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.conn != nil {
		o.conn.Close()
		o.conn = nil
	}
	if o.release != nil {
		o.release()
		o.release = nil
	}
}

func (o *sshOpener) open(ctx context.Context) (*shell, error) {
	o.close()
	c, release, deadline, err := o.bastions.dial(ctx, o.ep)
	if err != nil {
		return nil, err
	}
	sh, ended, err := o.startShell(c, deadline)
	if err != nil {
		c.conn.Close()
		release()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connect: %w", context.Cause(ctx))
		}
		return nil, o.ep.timedOut(err, deadline)
	}
	o.mu.Lock()
	o.conn, o.release = c.conn, release
	o.mu.Unlock()
	keepalive(c.conn, ended, o.keepalive, sh.busy.Load)
	return sh, nil
}

func deadlineOf(ctx context.Context, timeout time.Duration) time.Time {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	return deadline
}

// timedOut explains a failure after the deadline as a timeout, unless the
// host gave a definite answer (key, credentials, sudo).
func (e *sshEndpoint) timedOut(err error, deadline time.Time) error {
	var se *startError
	if !time.Now().Before(deadline) && (!errors.As(err, &se) || se.reason != ReasonHostKey && se.reason != ReasonAuth && se.reason != ReasonBecome) {
		return e.fail(ReasonTimeout, "connect timeout after %s: the port accepts connections but SSH did not complete (is the host paused or overloaded?): %v", e.timeout, err)
	}
	return err
}

// startShell starts the persistent shell in a new session of c. It uses
// the connection's channels directly rather than ssh.Client and
// ssh.Session, which start four goroutines per connection to answer what
// the server sends unasked: one does it here (see serveUnasked), and a
// controller keeps a thousand connections.
func (o *sshOpener) startShell(c *sshConn, deadline time.Time) (*shell, <-chan struct{}, error) {
	ch, sessReqs, err := c.conn.OpenChannel("session", nil)
	if err != nil {
		return nil, nil, o.ep.fail(ReasonUnreachable, "open session: %v", err)
	}
	go serveUnasked(c.chans, c.reqs, sessReqs)
	marker := newMarker()
	b := becomeOf(o.spec, o.ep.user)
	cmd := "exec " + quoteArgs(shellArgv(marker, b, sudoPrompt(marker)))
	ok, err := ch.SendRequest("exec", true, ssh.Marshal(&struct{ Command string }{cmd}))
	if err == nil && !ok {
		err = errors.New("the server refused the command")
	}
	if err != nil {
		ch.Close()
		return nil, nil, o.ep.fail(ReasonUnreachable, "start the remote shell: %v", err)
	}
	// The session's stderr reaches its end when the session ends, as when
	// the connection does (x/crypto/ssh closes every channel of a
	// connection that ends): the goroutine that reads it tells, instead of
	// one more goroutine per connection.
	ended := make(chan struct{})
	p := process{
		stdin: channelStdin{ch}, stdout: ch, stderr: ch.Stderr(),
		abort:       func() { ch.Close(); c.conn.Close() },
		side:        sshSide(c.conn),
		done:        ended,
		stderrEnded: func() { close(ended) },
	}
	sh, err := startShell(p, marker, b, deadline)
	if err != nil {
		return nil, nil, err
	}
	return sh, ended, nil
}

// channelStdin is a session's stdin: closing it sends end-of-file, as
// ssh.Session's stdin pipe does.
type channelStdin struct{ ch ssh.Channel }

func (s channelStdin) Write(b []byte) (int, error) { return s.ch.Write(b) }
func (s channelStdin) Close() error                { return s.ch.CloseWrite() }

// sshConn is an authenticated connection with what its server may send
// unasked: requests and channel opens, which must be answered or the
// connection stalls.
type sshConn struct {
	conn  ssh.Conn
	chans <-chan ssh.NewChannel
	reqs  <-chan *ssh.Request
}

// client makes c an ssh.Client, for a bastion: forwarding through it needs
// one.
func (c *sshConn) client() *ssh.Client { return ssh.NewClient(c.conn, c.chans, c.reqs) }

// serveUnasked refuses what a server sends unasked (global requests such as
// hostkeys-00@openssh.com, channel opens, requests on the session such as
// exit-status) until the connection ends. A refusal is what ssh.Client and
// ssh.Session answer too; OpenSSH takes it as an answer to its keepalives.
func serveUnasked(chans <-chan ssh.NewChannel, reqs, sessReqs <-chan *ssh.Request) {
	for chans != nil || reqs != nil || sessReqs != nil {
		var r *ssh.Request
		ok := true
		select {
		case nc, open := <-chans:
			if !open {
				chans = nil
				continue
			}
			_ = nc.Reject(ssh.Prohibited, "this client opens no channels for the server")
			continue
		case r, ok = <-reqs:
			if !ok {
				reqs = nil
			}
		case r, ok = <-sessReqs:
			if !ok {
				sessReqs = nil
			}
		}
		if ok && r.WantReply {
			_ = r.Reply(false, nil)
		}
	}
}

// handshake authenticates on nc, a TCP connection or a channel through a
// bastion, and returns the connection.
func (e *sshEndpoint) handshake(nc net.Conn) (*sshConn, error) {
	hostKeyCB, algos, hostKeyErr, err := e.hostKeyCallback()
	if err != nil {
		return nil, err
	}
	auth, tried, closeAgent, err := e.authMethods()
	if err != nil {
		return nil, err
	}
	defer closeAgent()
	cfg := &ssh.ClientConfig{
		User:              e.user,
		Auth:              auth,
		HostKeyCallback:   hostKeyCB,
		HostKeyAlgorithms: algos,
	}
	c, chans, reqs, err := ssh.NewClientConn(nc, e.addr, cfg)
	if err != nil {
		switch {
		case *hostKeyErr != nil:
			return nil, *hostKeyErr
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, e.fail(ReasonAuth, "authentication failed as %s (tried: %s); check the credentials and that the user may log in with them", e.user, strings.Join(tried, ", "))
		}
		return nil, e.fail(ReasonUnreachable, "ssh handshake: %v", err)
	}
	return &sshConn{conn: c, chans: chans, reqs: reqs}, nil
}

// idleProbes is one in how many keepalive intervals an idle connection is
// probed. While a batch runs every interval is probed, so that a silent host
// fails its batch within two intervals; an idle connection needs probing
// only to notice a host gone before the next batch is sent (then the batch
// reconnects instead of failing), and a controller keeps hundreds of them.
const idleProbes = 4

// requester is what keepalive needs of a connection: ssh.Conn, and the
// ssh.Client of a bastion.
type requester interface {
	SendRequest(name string, wantReply bool, payload []byte) (bool, []byte, error)
	Close() error
}

// keepalive drops a connection whose peer stopped answering, so that a
// batch on it fails instead of hanging. busy reports whether a batch is in
// flight; nil counts as always. It runs on timers, not in a goroutine of
// its own: a controller keeps one mostly idle connection per host, and a
// parked goroutine per connection is memory for nothing.
func keepalive(client requester, ended <-chan struct{}, interval time.Duration, busy func() bool) {
	var probe func(idle int)
	probe = func(idle int) {
		select {
		case <-ended:
			return
		default:
		}
		if busy != nil && !busy() && idle+1 < idleProbes {
			time.AfterFunc(interval, func() { probe(idle + 1) })
			return
		}
		silent := time.AfterFunc(interval, func() { client.Close() })
		_, _, err := client.SendRequest("keepalive@openssh.com", true, nil)
		if !silent.Stop() || err != nil {
			client.Close()
			return
		}
		time.AfterFunc(interval, func() { probe(0) })
	}
	time.AfterFunc(interval, func() { probe(0) })
}

// authMethods lists what to offer, in order: the key file and the agent's
// keys (one publickey method: the client tries each method name once),
// then the password.
func (o *sshEndpoint) authMethods() (methods []ssh.AuthMethod, tried []string, closeAgent func(), err error) {
	closeAgent = func() {}
	var signers []ssh.Signer
	if o.signer != nil {
		signers = append(signers, o.signer)
		tried = append(tried, fmt.Sprintf("publickey %s (%s)", o.keyFile, ssh.FingerprintSHA256(o.signer.PublicKey())))
	}
	if sock := os.Getenv("SSH_AUTH_SOCK"); o.useAgent || (sock != "" && o.signer == nil && o.password == "") {
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
func (o *sshEndpoint) hostKeyCallback() (cb ssh.HostKeyCallback, algos []string, failure *error, err error) {
	failure = new(error)
	policy := o.hostKey.Policy
	if policy == "insecure" {
		return ssh.InsecureIgnoreHostKey(), nil, failure, nil
	}
	file := o.hostKey.KnownHostsFile
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
	db, err := loadKnownHosts(files...)
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
				offered, entry, file, file, o.port, o.address, file)
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

// knownHostsCache keeps each known_hosts file parsed once while it stays
// the same file with the same size and modification time. Every kept
// connection holds its host key check (the key is checked again when the
// connection re-keys): parsing the file per connection cost ~10 KiB of
// memory per host at a thousand hosts. An edited, replaced or appended
// file is parsed again at the next dial, so a key removed or added counts
// at once, as before.
var knownHostsCache = struct {
	sync.Mutex
	m map[string]knownHostsEntry
}{m: map[string]knownHostsEntry{}}

type knownHostsEntry struct {
	file os.FileInfo
	db   ssh.HostKeyCallback
}

func loadKnownHosts(files ...string) (ssh.HostKeyCallback, error) {
	if len(files) != 1 {
		return knownhosts.New(files...)
	}
	st, err := os.Stat(files[0])
	if err != nil {
		return nil, err
	}
	knownHostsCache.Lock()
	defer knownHostsCache.Unlock()
	if e, ok := knownHostsCache.m[files[0]]; ok && os.SameFile(e.file, st) && e.file.Size() == st.Size() && e.file.ModTime().Equal(st.ModTime()) {
		return e.db, nil
	}
	// The check only reads what New parsed, so one is shared by every
	// connection at once.
	db, err := knownhosts.New(files[0])
	if err != nil {
		return nil, err
	}
	knownHostsCache.m[files[0]] = knownHostsEntry{file: st, db: db}
	return db, nil
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
