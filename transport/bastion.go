package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// bastionPool shares one SSH connection to each bastion among every host
// behind it: the connection is opened by the first host that needs it and
// closed when the last one lets it go.
type bastionPool struct {
	mu    sync.Mutex
	conns map[string]*bastionConn
	// dials counts SSH connections opened to bastions, for tests and figures.
	dials atomic.Int64
}

// bastionConn is one shared connection to a bastion.
type bastionConn struct {
	ready   chan struct{} // closed once client or err is set
	client  *ssh.Client
	heard   *heardConn // the client's traffic, for keepalive
	err     error
	release func() // gives back the connection to the bastion's own bastion
	refs    int
}

func newBastionPool() *bastionPool { return &bastionPool{conns: map[string]*bastionConn{}} }

// acquire returns the connection to bastion ep, opening it if no host holds
// it, and a func that gives it back. A failure is attributed to the bastion.
func (p *bastionPool) acquire(ctx context.Context, ep *sshEndpoint) (*ssh.Client, func(), error) {
	k := ep.key()
	p.mu.Lock()
	c := p.conns[k]
	if c != nil {
		c.refs++
		p.mu.Unlock()
		<-c.ready
	} else {
		c = &bastionConn{ready: make(chan struct{}), refs: 1}
		p.conns[k] = c
		p.mu.Unlock()
		conn, release, _, err := p.dial(ctx, ep)
		p.dials.Add(1)
		p.mu.Lock()
		if err != nil {
			c.err = atHop(ep, err)
			if p.conns[k] == c {
				delete(p.conns, k)
			}
		} else {
			c.client, c.heard, c.release = conn.client(), conn.heard, release
		}
		p.mu.Unlock()
		close(c.ready)
		if err == nil {
			go p.watch(k, c)
		}
	}
	if c.err != nil {
		p.put(k, c)
		return nil, nil, c.err
	}
	return c.client, sync.OnceFunc(func() { p.put(k, c) }), nil
}

// put gives back one hold on c and closes it with the last one.
func (p *bastionPool) put(k string, c *bastionConn) {
	p.mu.Lock()
	c.refs--
	last := c.refs == 0
	if last && p.conns[k] == c {
		delete(p.conns, k)
	}
	p.mu.Unlock()
	if last && c.client != nil {
		c.client.Close()
		c.release()
	}
}

// watch keeps c alive and forgets it once it ends, so that the next host
// to reconnect opens a new one; the holders of the dead one find their own
// connections dead and reopen.
func (p *bastionPool) watch(k string, c *bastionConn) {
	ended := make(chan struct{})
	go func() { c.client.Wait(); close(ended) }()
	keepalive(c.client, c.heard, ended, keepaliveInterval, 0, nil)
	<-ended
	p.mu.Lock()
	if p.conns[k] == c {
		delete(p.conns, k)
	}
	p.mu.Unlock()
}

// dial opens an SSH connection to ep: over TCP, or through the shared
// connection to its bastion as a direct-tcpip channel. The returned func
// gives back the bastion connection; call it after closing the client.
// ep's connect timeout bounds its own hop, from the moment its bastion is
// ready: waiting for a bastion another host is dialling does not use it
// up. The deadline returned bounds what the caller does next (the shell).
func (p *bastionPool) dial(ctx context.Context, ep *sshEndpoint) (conn *sshConn, release func(), deadline time.Time, err error) {
	var vc *ssh.Client
	release = func() {}
	if ep.via != nil {
		vc, release, err = p.acquire(ctx, ep.via)
		if err != nil {
			return nil, nil, deadline, err
		}
	}
	deadline = deadlineOf(ctx, ep.timeout)
	conn, err = p.dialHop(ctx, ep, vc, deadline)
	if err != nil {
		release()
		return nil, nil, deadline, err
	}
	return conn, release, deadline, nil
}

// dialHop connects and authenticates to ep, through vc when it is set.
func (p *bastionPool) dialHop(ctx context.Context, ep *sshEndpoint, vc *ssh.Client, deadline time.Time) (*sshConn, error) {
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var nc net.Conn
	if vc != nil {
		var err error
		nc, err = vc.DialContext(dctx, "tcp", ep.addr)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("connect: %w", context.Cause(ctx))
			}
			if dctx.Err() != nil {
				return nil, ep.fail(ReasonTimeout, "connect timeout after %s: the bastion %s did not open a connection to %s (is the host up? a firewall dropping packets?)", ep.timeout, ep.via.name, ep.addr)
			}
			return nil, ep.fail(ReasonUnreachable, "the bastion %s could not open a connection to %s (is the host up, is sshd listening, does the bastion resolve the name?): %v", ep.via.name, ep.addr, err)
		}
	} else {
		var err error
		nc, err = (&net.Dialer{KeepAliveConfig: tcpKeepAlive}).DialContext(dctx, "tcp", ep.addr)
		if err != nil {
			switch {
			case errors.Is(err, syscall.ECONNREFUSED):
				return nil, ep.fail(ReasonRefused, "connection refused: nothing listens on port %d (is sshd running, is the port right?)", ep.port)
			case ctx.Err() != nil:
				return nil, fmt.Errorf("connect: %w", context.Cause(ctx))
			case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
				return nil, ep.fail(ReasonTimeout, "connect timeout after %s: no TCP answer (is the host up? a firewall dropping packets?)", ep.timeout)
			}
			return nil, ep.fail(ReasonUnreachable, "connect: %v", err)
		}
	}
	// A channel through a bastion has no deadlines: closing the connection
	// is what bounds the handshake, for TCP as well.
	stop := context.AfterFunc(dctx, func() { nc.Close() })
	heard := &heardConn{Conn: nc}
	conn, err := ep.handshake(heard)
	stop()
	if err != nil {
		nc.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connect: %w", context.Cause(ctx))
		}
		return nil, ep.timedOut(err, deadline)
	}
	conn.heard = heard
	return conn, nil
}
