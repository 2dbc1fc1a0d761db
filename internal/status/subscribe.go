package status

import "sync"

// Subscribe returns a channel of batched changes and a function that ends
// the subscription. A subscriber that reads slowly is never waited for:
// changes accumulate, one record per host, into the next batch. Read a
// Snapshot first, then apply the updates whose Version is newer.
func (t *Tracker) Subscribe() (<-chan Update, func()) {
	s := &subscriber{pending: map[string]*Host{}, wake: make(chan struct{}, 1),
		out: make(chan Update), done: make(chan struct{})}
	t.mu.Lock()
	t.subs[s] = struct{}{}
	t.mu.Unlock()
	go s.deliver()
	var once sync.Once
	cancel := func() {
		once.Do(func() {
			t.mu.Lock()
			delete(t.subs, s)
			t.mu.Unlock()
			close(s.done)
		})
	}
	return s.out, cancel
}

type subscriber struct {
	mu      sync.Mutex
	pending map[string]*Host // nil value: the host was removed
	order   []string
	head    Update // version, counts and conditions of the latest change
	dirty   bool
	wake    chan struct{}
	out     chan Update
	done    chan struct{}
}

// add records a change; called with the tracker's lock held.
func (s *subscriber) add(t *Tracker, hosts []string) {
	s.mu.Lock()
	for _, n := range hosts {
		if _, seen := s.pending[n]; !seen {
			s.order = append(s.order, n)
		}
		s.pending[n] = t.hosts[n]
	}
	s.head = Update{Version: t.version, UpdatedAt: t.updatedAt, Conditions: t.conditions, Counts: t.counts}
	s.dirty = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscriber) deliver() {
	defer close(s.out)
	for {
		select {
		case <-s.done:
			return
		case <-s.wake:
		}
		s.mu.Lock()
		if !s.dirty {
			s.mu.Unlock()
			continue
		}
		u := s.head
		for _, n := range s.order {
			u.Hosts = append(u.Hosts, HostUpdate{Name: n, Host: s.pending[n]})
		}
		s.pending, s.order, s.dirty = map[string]*Host{}, nil, false
		s.mu.Unlock()
		select {
		case s.out <- u:
		case <-s.done:
			return
		}
	}
}
