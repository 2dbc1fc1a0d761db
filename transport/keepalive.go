package transport

import (
	"time"
)

// keepaliveInterval is how often a connection running a batch is checked
// (an idle one less often, see idleProbes); a peer that does not answer
// within it is dropped.
var keepaliveInterval = 15 * time.Second

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
