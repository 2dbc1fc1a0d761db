package transport

import (
	"net"
	"sync/atomic"
	"time"
)

// keepaliveInterval is how often a connection running a batch is checked
// (an idle one less often, see idleProbes).
var keepaliveInterval = 15 * time.Second

// silentIntervals is how many keepalive intervals in a row a peer may send
// nothing at all, after being probed, before its connection is dropped. A
// reply is not needed: any byte that arrives shows the peer is alive, and a
// loaded host (or a loaded machine running Optimus) may answer a probe late
// while it streams a large batch's output. So a silent host fails its batch
// within silentIntervals+1 intervals, and a slow one never does.
const silentIntervals = 3

// idleProbes is one in how many keepalive intervals an idle connection is
// probed. While a batch runs every interval is probed; an idle connection
// needs probing only to notice a host gone before the next batch is sent
// (then the batch reconnects instead of failing), and a controller keeps
// hundreds of them.
const idleProbes = 4

// requester is what keepalive needs of a connection: ssh.Conn, and the
// ssh.Client of a bastion.
type requester interface {
	SendRequest(name string, wantReply bool, payload []byte) (bool, []byte, error)
	Close() error
}

// heardConn is a network connection that records when it last received
// anything, for keepalive.
type heardConn struct {
	net.Conn
	heard atomic.Int64 // unix nanoseconds of the last read that returned data
}

func (c *heardConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.heard.Store(time.Now().UnixNano())
	}
	return n, err
}

// heardSince reports whether anything arrived after t; a nil connection
// never heard anything.
func (c *heardConn) heardSince(t time.Time) bool {
	return c != nil && c.heard.Load() > t.UnixNano()
}

// keepalive drops a connection whose peer stopped sending, so that a batch
// on it fails instead of hanging. busy reports whether a batch is in
// flight; nil counts as always. heard is the connection's traffic. It runs
// on timers, not in a goroutine of its own: a controller keeps one mostly
// idle connection per host, and a parked goroutine per connection is
// memory for nothing.
func keepalive(client requester, heard *heardConn, ended <-chan struct{}, interval time.Duration, busy func() bool) {
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
		var answered atomic.Bool
		watchSilence(client, heard, &answered, ended, interval)
		_, _, err := client.SendRequest("keepalive@openssh.com", true, nil)
		answered.Store(true)
		if err != nil {
			client.Close()
			return
		}
		time.AfterFunc(interval, func() { probe(0) })
	}
	time.AfterFunc(interval, func() { probe(0) })
}

// watchSilence checks, every interval until the probe is answered, whether
// the peer sent anything in the last interval, and closes the connection
// after silentIntervals silent ones in a row.
func watchSilence(client requester, heard *heardConn, answered *atomic.Bool, ended <-chan struct{}, interval time.Duration) {
	since, silent := time.Now(), 0
	var check func()
	check = func() {
		select {
		case <-ended:
			return
		default:
		}
		if answered.Load() {
			return
		}
		if heard.heardSince(since) {
			silent = 0
		} else {
			silent++
		}
		if silent >= silentIntervals {
			client.Close()
			return
		}
		since = time.Now()
		time.AfterFunc(interval, check)
	}
	time.AfterFunc(interval, check)
}
