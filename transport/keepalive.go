package transport

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// keepaliveInterval is how often a connection running a batch is checked.
var keepaliveInterval = 15 * time.Second

// silentIntervals is how many keepalive intervals in a row a peer may send
// nothing at all, after being probed, before its connection is dropped. A
// reply is not needed: any byte that arrives shows the peer is alive, and a
// loaded host (or a loaded machine running Optimus) may answer a probe late
// while it streams a large batch's output. So a silent host fails its batch
// within silentIntervals+1 intervals, and a slow one never does.
const silentIntervals = 3

// idleProbes is how many keepalive intervals apart an idle connection
// through a bastion is probed. It has no socket of its own for the
// kernel's TCP keepalive (see tcpKeepAlive) to watch, and a probe notices
// a host gone before the next batch is sent: the batch reconnects instead
// of failing.
const idleProbes = 8

// tcpKeepAlive is the kernel's keepalive on a direct connection: an idle
// connection whose host is gone (powered off, rebooted, cut off) errors
// within Idle + Interval × Count, and the next batch reconnects. It costs
// the controller nothing, where an SSH probe is a round trip through the
// process: at 10,000 idle hosts one every two minutes was most of the
// controller's idle CPU. OpenSSH relies on the same by default
// (TCPKeepAlive yes, ServerAliveInterval 0). What it cannot see is a host
// whose kernel answers while sshd is frozen; the next batch's probes do.
var tcpKeepAlive = net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 15 * time.Second, Count: 4}

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
// flight; nil counts as always. heard is the connection's traffic. idle is
// how often an idle connection is probed; zero probes it never (the
// kernel watches a direct connection, see tcpKeepAlive). It runs on one
// timer per connection, not in a goroutine of its own, and the timer fires
// only when a check is due: a controller keeps one mostly idle connection
// per host, and a parked goroutine or a wake-up per interval per
// connection is memory and CPU for nothing at ten thousand hosts. The
// returned wake is called when a batch starts, so that a connection that
// was idle is checked within an interval of it.
func keepalive(client requester, heard *heardConn, ended <-chan struct{}, interval, idle time.Duration, busy func() bool) (wake func()) {
	k := &keeper{client: client, heard: heard, ended: ended, interval: interval, idle: idle, busy: busy}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.scheduleLocked()
	return k.wake
}

// keeper is the keepalive of one connection.
type keeper struct {
	client   requester
	heard    *heardConn
	ended    <-chan struct{}
	interval time.Duration
	idle     time.Duration
	busy     func() bool

	mu      sync.Mutex
	timer   *time.Timer // nil until first armed
	due     time.Time   // when the timer fires; zero while parked or probing
	probing bool
}

// scheduleLocked arms the next check: an interval away while a batch
// runs, k.idle while none does, or none at all (parked until wake) when
// idle connections are not probed.
func (k *keeper) scheduleLocked() {
	d := k.interval
	if k.busy != nil && !k.busy() {
		if d = k.idle; d <= 0 {
			k.due = time.Time{}
			return
		}
	}
	k.armLocked(d)
}

func (k *keeper) armLocked(d time.Duration) {
	k.due = time.Now().Add(d)
	if k.timer == nil {
		k.timer = time.AfterFunc(d, k.check)
		return
	}
	k.timer.Reset(d)
}

// wake brings the next check to within an interval when the connection
// was idle: parked, or its check further away.
func (k *keeper) wake() {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case k.probing:
	case k.due.IsZero():
		k.armLocked(k.interval)
	case time.Until(k.due) > k.interval && k.timer.Stop():
		k.armLocked(k.interval)
	}
}

// check probes the peer unless it is not needed: the connection went idle
// and idle ones are not probed, or the peer sent something within the
// last interval (a batch streaming output is alive).
func (k *keeper) check() {
	select {
	case <-k.ended:
		return
	default:
	}
	k.mu.Lock()
	if (k.busy != nil && !k.busy() && k.idle <= 0) || k.heard.heardSince(time.Now().Add(-k.interval)) {
		k.scheduleLocked()
		k.mu.Unlock()
		return
	}
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
	k.scheduleLocked()
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
