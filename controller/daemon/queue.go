package daemon

import (
	"sync"
	"time"
)

// queue hands out host names to workers. A host is never handed out twice
// at once: adding a host that is being worked on marks it to be handed out
// again when its worker is done, so no change is lost and none is doubled.
type queue struct {
	mu       sync.Mutex
	cond     *sync.Cond
	ready    []string
	queued   map[string]bool
	active   map[string]bool
	again    map[string]bool
	timers   map[string]*time.Timer
	shutdown bool
}

func newQueue() *queue {
	q := &queue{queued: map[string]bool{}, active: map[string]bool{}, again: map[string]bool{}, timers: map[string]*time.Timer{}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Add queues host now, cancelling a delayed add.
func (q *queue) Add(host string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if t, ok := q.timers[host]; ok {
		t.Stop()
		delete(q.timers, host)
	}
	q.addLocked(host)
}

func (q *queue) addLocked(host string) {
	if q.shutdown || q.queued[host] {
		return
	}
	if q.active[host] {
		q.again[host] = true
		return
	}
	q.queued[host] = true
	q.ready = append(q.ready, host)
	q.cond.Signal()
}

// AddAfter queues host after d, unless an earlier add is already pending.
func (q *queue) AddAfter(host string, d time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shutdown || q.queued[host] {
		return
	}
	if t, ok := q.timers[host]; ok {
		t.Stop()
	}
	q.timers[host] = time.AfterFunc(d, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		delete(q.timers, host)
		q.addLocked(host)
	})
}

// Get blocks until a host is ready or the queue shuts down.
func (q *queue) Get() (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.ready) == 0 && !q.shutdown {
		q.cond.Wait()
	}
	if q.shutdown {
		return "", false
	}
	host := q.ready[0]
	q.ready = q.ready[1:]
	delete(q.queued, host)
	q.active[host] = true
	return host, true
}

// Done ends work on host, queueing it again if it was added meanwhile.
func (q *queue) Done(host string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.active, host)
	if q.again[host] {
		delete(q.again, host)
		q.addLocked(host)
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
	if q.queued[host] {
		delete(q.queued, host)
		for i, h := range q.ready {
			if h == host {
				q.ready = append(q.ready[:i], q.ready[i+1:]...)
				break
			}
		}
	}
}

// Len is the number of hosts waiting.
func (q *queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ready)
}

// ShutDown wakes every Get, which then returns false.
func (q *queue) ShutDown() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.shutdown = true
	for _, t := range q.timers {
		t.Stop()
	}
	q.cond.Broadcast()
}
