package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

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
	idle := time.Duration(0) // the kernel watches an idle TCP connection
	if o.ep.via != nil {
		idle = idleProbes * o.keepalive
	}
	sh.wake = keepalive(c.conn, c.heard, ended, o.keepalive, idle, sh.busy.Load)
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
	// heard is the connection's traffic, for keepalive.
	heard *heardConn
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

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
