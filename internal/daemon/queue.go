package daemon

import (
	"sync"
	"time"
)

// priority orders the queue: a host whose manifests changed is handed out
// before hosts waiting for a resync, a retry or their first pass, so a
// change reaches its host within seconds even while the whole fleet is
// being re-observed.
type priority int

const (
	priorityResync priority = iota // drift correction, retries, the first pass
	priorityChange                 // the host's desired state changed
)

// queue hands out host names to workers, highest priority first and in
// order of arrival within a priority. A host is never handed out twice at
// once: adding a host that is being worked on marks it to be handed out
// again when its worker is done, so no change is lost and none is doubled.
//
// Resync work also waits while a change is being worked on, or the
// manifests are being reloaded (Hold): the hosts' and the controller's
// cores are what a resync pass saturates, and a change competing with it
// for them took three times as long to reach its host.
type queue struct {
	mu      sync.Mutex
	cond    *sync.Cond
	lanes   [2][]string         // per priority; may hold stale entries, skipped by Get
	queued  map[string]priority // hosts waiting, with the lane that counts
	active  map[string]priority // hosts being worked on, with the lane they came from
	changes int                 // active hosts from the change lane
	held    bool
	again   map[string]priority
	timers  map[string]*time.Timer
	closed  bool
}

func newQueue() *queue {
	q := &queue{queued: map[string]priority{}, active: map[string]priority{}, again: map[string]priority{}, timers: map[string]*time.Timer{}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Add queues host now at priority p, cancelling a delayed add. A host
// already waiting moves up when p is higher.
func (q *queue) Add(host string, p priority) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if t, ok := q.timers[host]; ok {
		t.Stop()
		delete(q.timers, host)
	}
	q.addLocked(host, p)
}

func (q *queue) addLocked(host string, p priority) {
	if q.closed {
		return
	}
	if _, ok := q.active[host]; ok {
		if old, ok := q.again[host]; !ok || p > old {
			q.again[host] = p
		}
		return
	}
	if old, ok := q.queued[host]; ok && old >= p {
		return
	}
	// An entry left in a lower lane becomes stale: Get skips entries whose
	// lane is not the one recorded in queued.
	q.queued[host] = p
	q.lanes[p] = append(q.lanes[p], host)
	q.cond.Signal()
}

// AddAfter queues host for a resync after d, unless it is already waiting.
func (q *queue) AddAfter(host string, d time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	if _, ok := q.queued[host]; ok {
		return
	}
	if t, ok := q.timers[host]; ok {
		t.Stop()
	}
	q.timers[host] = time.AfterFunc(d, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		delete(q.timers, host)
		q.addLocked(host, priorityResync)
	})
}

// Get blocks until a host is ready or the queue shuts down.
func (q *queue) Get() (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if q.closed {
			return "", false
		}
		if host, p, ok := q.popLocked(); ok {
			q.active[host] = p
			if p == priorityChange {
				q.changes++
			}
			return host, true
		}
		q.cond.Wait()
	}
}

func (q *queue) popLocked() (string, priority, bool) {
	for p := len(q.lanes) - 1; p >= 0; p-- {
		if priority(p) == priorityResync && (q.changes > 0 || q.held) {
			break
		}
		for len(q.lanes[p]) > 0 {
			host := q.lanes[p][0]
			q.lanes[p][0] = ""
			q.lanes[p] = q.lanes[p][1:]
			if cur, ok := q.queued[host]; ok && cur == priority(p) {
				delete(q.queued, host)
				return host, priority(p), true
			}
		}
	}
	return "", 0, false
}

// Hold stops handing out resync work until Release: the manifests are
// being reloaded, and the changes they bring come first.
func (q *queue) Hold() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.held = true
}

// Release ends a Hold.
func (q *queue) Release() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.held = false
	q.cond.Broadcast()
}

// Done ends work on host, queueing it again if it was added meanwhile.
func (q *queue) Done(host string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.active[host] == priorityChange {
		q.changes--
		if q.changes == 0 {
			q.cond.Broadcast() // resync work may go on
		}
	}
	delete(q.active, host)
	if p, ok := q.again[host]; ok {
		delete(q.again, host)
		q.addLocked(host, p)
	}
}

// Forget drops every pending add of host (it left the manifests).
func (q *queue) Forget(host string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if t, ok := q.timers[host]; ok {
		t.Stop()
		delete(q.timers, host)
	}
	delete(q.again, host)
	delete(q.queued, host) // its lane entry is now stale
}

// Len is the number of hosts waiting.
func (q *queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queued)
}

// ShutDown wakes every Get, which then returns false.
func (q *queue) ShutDown() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	for _, t := range q.timers {
		t.Stop()
	}
	q.cond.Broadcast()
}
