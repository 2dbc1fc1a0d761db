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
