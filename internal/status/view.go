package status

import (
	"slices"
	"sync"
	"time"
)

// View is a fleet of host records kept by someone else's updates (a
// replica merges its own hosts with those other replicas wrote to etcd),
// served in pages and counted as the tracker is: every Put costs one host,
// a page costs its size, the counts cost nothing.
type View struct {
	mu        sync.Mutex
	hosts     map[string]*Host
	names     []string
	sorted    bool
	counts    Counts
	version   uint64
	updatedAt time.Time
}

// NewView returns an empty view.
func NewView() *View { return &View{hosts: map[string]*Host{}, sorted: true} }

// Put replaces the record of a host (h == nil removes it). h is kept as
// it is: the caller must not modify it afterwards.
func (v *View) Put(name string, h *Host, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	old, had := v.hosts[name]
	if old == h {
		return
	}
	if had {
		v.counts.add(old, -1)
	}
	if h == nil {
		delete(v.hosts, name)
		v.sorted = false
	} else {
		if !had {
			v.sorted = false
		}
		v.hosts[name] = h
		v.counts.add(h, 1)
	}
	v.version++
	v.updatedAt = now
}

// Host returns the record of a host.
func (v *View) Host(name string) (*Host, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	h, ok := v.hosts[name]
	return h, ok
}

// Counts returns the counts of the view.
func (v *View) Counts() Counts {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.counts
}

// UpdatedAt is when the last Put changed the view.
func (v *View) UpdatedAt() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.updatedAt
}

// Page returns one page, as Tracker.Page does.
func (v *View) Page(q Query, labels LabelFunc) Page {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.sorted {
		// Hosts come and go with manifest changes only: the sort is paid
		// by the first page after one, not by every page.
		v.names = v.names[:0]
		for n := range v.hosts {
			v.names = append(v.names, n)
		}
		slices.Sort(v.names)
		v.sorted = true
	}
	ix := index{names: v.names, hosts: v.hosts, counts: v.counts}
	p := ix.page(q, labels)
	p.Version, p.UpdatedAt = v.version, v.updatedAt
	return p
}
