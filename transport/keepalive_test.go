package transport

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// slowPeer answers keepalive probes only when release is closed.
type slowPeer struct {
	release chan struct{}
	closed  chan struct{}
	once    atomic.Bool
	sent    atomic.Int32
}

func newSlowPeer() *slowPeer {
	return &slowPeer{release: make(chan struct{}), closed: make(chan struct{})}
}

func (p *slowPeer) SendRequest(string, bool, []byte) (bool, []byte, error) {
	p.sent.Add(1)
	select {
	case <-p.release:
		return true, nil, nil
	case <-p.closed:
		return false, nil, errors.New("closed")
	}
}

func (p *slowPeer) Close() error {
	if p.once.CompareAndSwap(false, true) {
		close(p.closed)
	}
	return nil
}

// A peer that answers its probes late but keeps sending (a loaded host
// streaming a batch's output) is alive: the connection is kept.
func TestKeepaliveKeepsSlowButLivePeer(t *testing.T) {
	peer, heard, ended := newSlowPeer(), &heardConn{}, make(chan struct{})
	defer close(ended)
	keepalive(peer, heard, ended, 200*time.Millisecond, 0, nil)
	// Silent until a probe is out (traffic puts probes off), then traffic
	// for many more intervals than silentIntervals, and no reply.
	for deadline := time.Now().Add(time.Minute); peer.sent.Load() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no probe of a silent peer")
		}
	}
	for range 200 {
		heard.heard.Store(time.Now().UnixNano())
		select {
		case <-peer.closed:
			t.Fatal("a peer that kept sending was dropped because its probe was not answered yet")
		case <-time.After(10 * time.Millisecond):
		}
	}
	close(peer.release)
}

// A peer that sends nothing at all is dropped.
func TestKeepaliveDropsSilentPeer(t *testing.T) {
	peer, ended := newSlowPeer(), make(chan struct{})
	defer close(ended)
	keepalive(peer, &heardConn{}, ended, 20*time.Millisecond, 0, nil)
	select {
	case <-peer.closed:
	case <-time.After(time.Minute):
		t.Fatal("a silent peer was not dropped")
	}
}

// countingPeer answers every probe at once and counts them.
type countingPeer struct{ probes atomic.Int32 }

func (p *countingPeer) SendRequest(string, bool, []byte) (bool, []byte, error) {
	p.probes.Add(1)
	return true, nil, nil
}

func (p *countingPeer) Close() error { return nil }

// An idle connection through a bastion is probed idleProbes intervals
// apart, not every interval; a batch that starts on it (wake) brings the
// next probe to within an interval, and while it runs every interval is
// probed.
func TestKeepaliveProbesIdleConnectionsSeldom(t *testing.T) {
	// The idle period is idleProbes seconds: a loaded machine that stalls
	// this test for most of it still finds no probe after one second.
	const interval = time.Second
	peer, ended := &countingPeer{}, make(chan struct{})
	defer close(ended)
	var busy atomic.Bool
	start := time.Now()
	wake := keepalive(peer, &heardConn{}, ended, interval, idleProbes*interval, busy.Load)
	time.Sleep(interval)
	if n := peer.probes.Load(); n != 0 {
		t.Fatalf("%d probes within an interval of an idle connection; want none before %d intervals", n, idleProbes)
	}
	busy.Store(true)
	wake()
	// Without the wake the first probe would come at idleProbes intervals,
	// the third two intervals later.
	deadline := start.Add((idleProbes - 1) * interval)
	for peer.probes.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d probes %s after a batch started; want one every interval while it runs", peer.probes.Load(), time.Since(start)-interval)
		}
		time.Sleep(interval / 10)
	}
}

// A direct connection is not probed while idle (the kernel's TCP keepalive
// watches it): only while a batch runs, from the wake on, and it stops
// again when the batch is over.
func TestKeepaliveLeavesIdleDirectConnectionsToTheKernel(t *testing.T) {
	const interval = 50 * time.Millisecond
	peer, ended := &countingPeer{}, make(chan struct{})
	defer close(ended)
	var busy atomic.Bool
	wake := keepalive(peer, &heardConn{}, ended, interval, 0, busy.Load)
	time.Sleep(10 * interval)
	if n := peer.probes.Load(); n != 0 {
		t.Fatalf("%d probes of an idle direct connection; want none", n)
	}
	busy.Store(true)
	wake()
	waitProbes(t, peer, 3)
	busy.Store(false)
	// A probe already due may still go out; after that, none.
	time.Sleep(3 * interval)
	n := peer.probes.Load()
	time.Sleep(10 * interval)
	if m := peer.probes.Load(); m != n {
		t.Fatalf("%d probes after the batch ended; want none", m-n)
	}
	busy.Store(true)
	wake()
	waitProbes(t, peer, n+1)
}

// A connection that carries traffic is not probed: the traffic shows the
// peer alive.
func TestKeepaliveSkipsProbesWhileThePeerSends(t *testing.T) {
	// Traffic every 10 ms for five intervals: only a stall of a whole
	// interval (a loaded machine) between two of them would look silent.
	const interval = 200 * time.Millisecond
	peer, heard, ended := &countingPeer{}, &heardConn{}, make(chan struct{})
	defer close(ended)
	keepalive(peer, heard, ended, interval, 0, nil)
	for range 100 {
		heard.heard.Store(time.Now().UnixNano())
		time.Sleep(10 * time.Millisecond)
	}
	if n := peer.probes.Load(); n != 0 {
		t.Fatalf("%d probes of a peer that sent all along; want none", n)
	}
	waitProbes(t, peer, 1) // silent from now on
}

// waitProbes waits until peer was probed n times.
func waitProbes(t *testing.T, peer *countingPeer, n int32) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); peer.probes.Load() < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d probes after a minute; want %d", peer.probes.Load(), n)
		}
	}
}
