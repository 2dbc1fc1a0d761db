package web

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fleet is a whole fleet as the tests write it; fakeSource serves it
// the way the controller does, a summary and pages.
type Fleet struct {
	UpdatedAt  time.Time
	Conditions []Condition
	Config     Config
	Hosts      []Host // sorted by name
	Resources  []Resource
	Rollout    *Rollout
}

// fakeSource is a fixed fleet that tests change and announce by hand.
type fakeSource struct {
	mu      sync.Mutex
	fleet   *Fleet
	subs    []chan struct{}
	queued  []string
	withRec bool
}

func (f *fakeSource) Snapshot() *Fleet {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fleet
}

func classOf(st State) State {
	if st == StateReady || st == StateQuarantined {
		return st
	}
	return StatePending
}

func (f *fakeSource) Summary() *Summary {
	fl := f.Snapshot()
	s := &Summary{UpdatedAt: fl.UpdatedAt, Conditions: fl.Conditions, Config: fl.Config, Rollout: fl.Rollout, Hosts: len(fl.Hosts),
		Counts: map[State]int{}}
	for _, h := range fl.Hosts {
		s.Counts[classOf(h.State)]++
	}
	return s
}

// Hosts pages by index; like the controller, it knows the total only
// without a label or name filter.
func (f *fakeSource) Hosts(q HostQuery) (*HostPage, error) {
	fl := f.Snapshot()
	from := 0
	if q.Continue != "" {
		n, err := strconv.Atoi(q.Continue)
		if err != nil {
			return nil, fmt.Errorf("bad continue token %q", q.Continue)
		}
		from = n
	}
	var sel map[string]string
	if q.Selector != "" {
		sel = map[string]string{}
		for _, kv := range strings.Split(q.Selector, ",") {
			k, v, _ := strings.Cut(kv, "=")
			sel[k] = v
		}
	}
	p := &HostPage{Total: 0}
	for i := from; i < len(fl.Hosts); i++ {
		h := fl.Hosts[i]
		ok := q.Class == "" || classOf(h.State) == q.Class
		ok = ok && strings.Contains(strings.ToLower(h.Name), strings.ToLower(q.Contains))
		for k, v := range sel {
			ok = ok && h.Labels[k] == v
		}
		if !ok {
			continue
		}
		if len(p.Hosts) == q.Limit {
			p.Continue = strconv.Itoa(i)
			break
		}
		p.Hosts = append(p.Hosts, h)
	}
	for _, h := range fl.Hosts {
		if q.Class == "" || classOf(h.State) == q.Class {
			p.Total++
		}
	}
	if sel != nil || q.Contains != "" {
		p.Total = -1
	}
	return p, nil
}

func (f *fakeSource) Host(name string) *Host {
	fl := f.Snapshot()
	for i := range fl.Hosts {
		if fl.Hosts[i].Name == name {
			return &fl.Hosts[i]
		}
	}
	return nil
}

func (f *fakeSource) Resource(kind, name string) *Resource {
	fl := f.Snapshot()
	for i := range fl.Resources {
		if r := &fl.Resources[i]; r.Kind == kind && r.Name == name {
			return r
		}
	}
	return nil
}

func (f *fakeSource) Search(query string, limit int) ([]Host, []Resource) {
	fl := f.Snapshot()
	lq := strings.ToLower(query)
	match := func(name string, labels map[string]string) bool {
		if strings.Contains(strings.ToLower(name), lq) {
			return true
		}
		for k, v := range labels {
			if strings.Contains(strings.ToLower(k+"="+v), lq) {
				return true
			}
		}
		return false
	}
	var hosts []Host
	var res []Resource
	for _, h := range fl.Hosts {
		if len(hosts) < limit && match(h.Name, h.Labels) {
			hosts = append(hosts, h)
		}
	}
	for _, r := range fl.Resources {
		if len(res) < limit && match(r.ID(), r.Labels) {
			res = append(res, r)
		}
	}
	return hosts, res
}

func (f *fakeSource) Subscribe(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	f.subs = append(f.subs, ch)
	f.mu.Unlock()
	return ch
}

func (f *fakeSource) set(fl *Fleet) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fleet = fl
	for _, ch := range f.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// reconcilingSource also queues reconciles.
type reconcilingSource struct{ *fakeSource }

func (r reconcilingSource) Reconcile(host string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queued = append(r.queued, host)
	return nil
}

func fleetOf(n int, quarantined ...int) *Fleet {
	f := &Fleet{UpdatedAt: time.Now(), Config: Config{Known: true, Valid: true, Message: "3 resources"}}
	q := map[int]bool{}
	for _, i := range quarantined {
		q[i] = true
	}
	for i := range n {
		h := Host{Name: fmt.Sprintf("host%04d", i), Address: "127.0.0.1", State: StateReady,
			Labels: map[string]string{"role": []string{"web", "db"}[i%2]}, LastRun: &Run{Start: time.Now(), Changed: 1}}
		if q[i] {
			h.State, h.Reason, h.Failures = StateQuarantined, "connection refused", 2
		}
		f.Hosts = append(f.Hosts, h)
	}
	f.Resources = []Resource{{Kind: "User", Name: "alice", Ready: true, Labels: map[string]string{"team": "ops"},
		Hosts: []ResourceOnHost{{Host: "host0000", State: "converged"}}}}
	return f
}
