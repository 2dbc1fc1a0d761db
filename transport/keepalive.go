package transport

import (
	"net"
	"sync"
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

// idleProbes is how many keepalive intervals apart an idle connection is
// probed. While a batch runs every interval is probed; an idle connection
// needs probing only to notice a host gone before the next batch is sent
// (then the batch reconnects instead of failing), and a controller keeps
// thousands of them: at 10,000 hosts one probe per idle connection every
// two minutes is 83 round trips a second.
const idleProbes = 8

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
// on one timer per connection, not in a goroutine of its own, and the timer
// fires only when a probe is due: a controller keeps one mostly idle
// connection per host, and a parked goroutine or a wake-up per interval
// per connection is memory and CPU for nothing at ten thousand hosts. The
// returned wake is called when a batch starts, so that a connection that
// was idle is probed within an interval of it.
func keepalive(client requester, heard *heardConn, ended <-chan struct{}, interval time.Duration, busy func() bool) (wake func()) {
	k := &keeper{client: client, heard: heard, ended: ended, interval: interval, busy: busy}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.timer = time.AfterFunc(k.nextLocked(), k.probe)
	return k.wake
}

// keeper is the keepalive of one connection.
type keeper struct {
	client   requester
	heard    *heardConn
	ended    <-chan struct{}
	interval time.Duration
	busy     func() bool

	mu      sync.Mutex
	timer   *time.Timer
	due     time.Time // when the timer fires; zero while a probe is out
	probing bool
}

// nextLocked records when the next probe is due and says how long until then: an
// interval while a batch runs, idleProbes intervals while none does.
func (k *keeper) nextLocked() time.Duration {
	d := k.interval
	if k.busy != nil && !k.busy() {
		d *= idleProbes
	}
	k.due = time.Now().Add(d)
	return d
}

// wake brings the next probe to within an interval when the connection
// was idle and its probe is further away.
func (k *keeper) wake() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.probing || k.due.IsZero() || time.Until(k.due) <= k.interval {
		return
	}
	if k.timer.Stop() {
		k.due = time.Now().Add(k.interval)
		k.timer.Reset(k.interval)
	}
}

func (k *keeper) probe() {
	select {
	case <-k.ended:
		return
	default:
	}
	k.mu.Lock()
	k.probing, k.due = true, time.Time{}
	k.mu.Unlock()
	var answered atomic.Bool
	watchSilence(k.client, k.heard, &answered, k.ended, k.interval)
	_, _, err := k.client.SendRequest("keepalive@openssh.com", true, nil)
	answered.Store(true)
	if err != nil {
		k.client.Close()
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.probing = false
	k.timer.Reset(k.nextLocked())
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
