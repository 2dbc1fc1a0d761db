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
}

func newSlowPeer() *slowPeer {
	return &slowPeer{release: make(chan struct{}), closed: make(chan struct{})}
}

func (p *slowPeer) SendRequest(string, bool, []byte) (bool, []byte, error) {
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
	keepalive(peer, heard, ended, 200*time.Millisecond, nil)
	// Traffic for many more intervals than silentIntervals, no reply.
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
	keepalive(peer, &heardConn{}, ended, 20*time.Millisecond, nil)
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

// An idle connection is probed idleProbes intervals apart, not every
// interval; a batch that starts on it (wake) brings the next probe to
// within an interval, and while it runs every interval is probed.
func TestKeepaliveProbesIdleConnectionsSeldom(t *testing.T) {
	// The idle period is idleProbes seconds: a loaded machine that stalls
	// this test for most of it still finds no probe after one second.
	const interval = time.Second
	peer, ended := &countingPeer{}, make(chan struct{})
	defer close(ended)
	var busy atomic.Bool
	start := time.Now()
	wake := keepalive(peer, &heardConn{}, ended, interval, busy.Load)
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
