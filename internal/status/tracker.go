package status

import (
	"slices"
	"sync"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// Tracker holds the status of the fleet. Its methods are safe for
// concurrent use; none of them does I/O, and none holds the lock for longer
// than the change it makes (plus, for Snapshot, copying one pointer per
// host).
type Tracker struct {
	mu         sync.Mutex
	version    uint64
	updatedAt  time.Time
	conditions []v1alpha1.Condition // replaced on change, never modified in place
	hosts      map[string]*Host
	names      []string // sorted host names, rebuilt only when hosts come or go
	resources  []Resource
	counts     Counts
	snap       *Snapshot // cached until the next change
	subs       map[*subscriber]struct{}
	changed    chan struct{}
}

// New returns an empty tracker.
func New() *Tracker {
	return &Tracker{hosts: map[string]*Host{}, subs: map[*subscriber]struct{}{}, changed: make(chan struct{}, 1)}
}

// Target is a host of the current manifests and the resources targeting it.
type Target struct {
	Name    string
	Address string
	// Resources targeting the host, in the order of the manifests.
	Resources []v1alpha1.ResourceRef
}

// Restore takes a saved status, so that conditions keep their transition
// times and a failing host keeps its failure count and next retry across a
// restart. Restored hosts count as not yet passed.
func (t *Tracker) Restore(st *v1alpha1.ControllerStatus) {
	perHost := map[string][]ResourceState{}
	for _, r := range st.Resources {
		ref := v1alpha1.ResourceRef{Kind: r.Kind, Name: r.Name}
		for _, hs := range r.Hosts {
			perHost[hs.Host] = append(perHost[hs.Host], ResourceState{Ref: ref, State: hs.State, Message: hs.Message})
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.conditions = slices.Clone(st.Conditions)
	for _, hs := range st.Hosts {
		t.putLocked(hs.Name, &Host{Status: hs, Resources: perHost[hs.Name]})
	}
	t.rebuildNamesLocked()
	t.changedLocked(st.UpdatedAt, nil)
}

// SetManifests declares the hosts and resources of a newly loaded manifest
// set. A host that stays keeps its record; its resource states are kept for
// resources that still target it, and new ones start pending. Hosts not in
// targets are removed and returned.
func (t *Tracker) SetManifests(targets []Target, resources []Resource, now time.Time) (removed []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	present := make(map[string]bool, len(targets))
	var touched []string
	for _, tg := range targets {
		present[tg.Name] = true
		old := t.hosts[tg.Name]
		if old != nil && old.Status.Address == tg.Address && sameRefs(old.Resources, tg.Resources) {
			// The usual reload: this host's resources did not change. Its
			// record stays as it is, without building a copy to compare.
			continue
		}
		h := &Host{Status: v1alpha1.HostStatus{Name: tg.Name}}
		var known map[v1alpha1.ResourceRef]ResourceState
		if old != nil {
			h.Status, h.Passed = old.Status, old.Passed
			known = make(map[v1alpha1.ResourceRef]ResourceState, len(old.Resources))
			for _, rs := range old.Resources {
				known[rs.Ref] = rs
			}
		}
		h.Status.Address, h.Status.Resources = tg.Address, len(tg.Resources)
		h.Resources = make([]ResourceState, len(tg.Resources))
		for i, ref := range tg.Resources {
			rs, ok := known[ref]
			if !ok {
				rs = ResourceState{Ref: ref, State: StatePending}
			}
			h.Resources[i] = rs
		}
		if old != nil && sameHost(old, h) {
			continue
		}
		t.putLocked(tg.Name, h)
		touched = append(touched, tg.Name)
	}
	for name := range t.hosts {
		if !present[name] {
			t.putLocked(name, nil)
			removed = append(removed, name)
			touched = append(touched, name)
		}
	}
	t.resources = resources
	t.rebuildNamesLocked()
	t.changedLocked(now, touched)
	return removed
}

// sameRefs reports whether states are of refs, in that order.
func sameRefs(states []ResourceState, refs []v1alpha1.ResourceRef) bool {
	if len(states) != len(refs) {
		return false
	}
	for i, rs := range states {
		if rs.Ref != refs[i] {
			return false
		}
	}
	return true
}

func sameHost(a, b *Host) bool {
	return a.Status.Address == b.Status.Address && a.Status.Resources == b.Status.Resources &&
		slices.Equal(a.Resources, b.Resources)
}

// Host returns the record of a host.
func (t *Tracker) Host(name string) (*Host, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h, ok := t.hosts[name]
	return h, ok
}

// UpdateHost replaces the record of a host by the one fn makes from a copy
// of the current one, and reports whether the host exists. fn may change
// the copy's Status (its Conditions are its own) and may assign a new
// Resources slice, but must not modify the old slice's elements. The cost is
// that of copying the host's conditions: the rest of the fleet is not looked
// at.
func (t *Tracker) UpdateHost(name string, now time.Time, fn func(h *Host)) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	old, ok := t.hosts[name]
	if !ok {
		return false
	}
	h := *old
	h.Status.Conditions = slices.Clone(old.Status.Conditions)
	fn(&h)
	t.putLocked(name, &h)
	t.changedLocked(now, []string{name})
	return true
}

// SetCondition sets a condition of the controller itself; nothing changes
// (no new version) when the condition is already so.
func (t *Tracker) SetCondition(c v1alpha1.Condition, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old := v1alpha1.FindCondition(t.conditions, c.Type); old != nil && old.Status == c.Status &&
		old.Reason == c.Reason && old.Message == c.Message && old.ObservedGeneration == c.ObservedGeneration {
		return
	}
	t.conditions = v1alpha1.SetCondition(slices.Clone(t.conditions), c, now)
	t.changedLocked(now, nil)
}

// Counts returns the current counts.
func (t *Tracker) Counts() Counts {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.counts
}

// Snapshot returns the status as it is now. Repeated calls between two
// changes return the same snapshot.
func (t *Tracker) Snapshot() *Snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.snap == nil {
		s := &Snapshot{Version: t.version, UpdatedAt: t.updatedAt, Conditions: t.conditions, Counts: t.counts,
			Hosts: make([]*Host, len(t.names)), Resources: t.resources}
		for i, n := range t.names {
			s.Hosts[i] = t.hosts[n]
		}
		t.snap = s
	}
	return t.snap
}

// Changed receives a value after changes, coalesced: one value may stand
// for many. It has one reader, the state-file writer.
func (t *Tracker) Changed() <-chan struct{} { return t.changed }

// putLocked replaces (h != nil) or removes (h == nil) a host's record and
// keeps the counts.
func (t *Tracker) putLocked(name string, h *Host) {
	if old := t.hosts[name]; old != nil {
		t.counts.add(old, -1)
	}
	if h == nil {
		delete(t.hosts, name)
		return
	}
	t.hosts[name] = h
	t.counts.add(h, 1)
}

func (t *Tracker) rebuildNamesLocked() {
	if len(t.names) == len(t.hosts) {
		same := true
		for _, n := range t.names {
			if t.hosts[n] == nil {
				same = false
				break
			}
		}
		if same {
			return
		}
	}
	t.names = t.names[:0]
	for n := range t.hosts {
		t.names = append(t.names, n)
	}
	slices.Sort(t.names)
}

// changedLocked moves to the next version and tells the subscribers which
// hosts changed.
func (t *Tracker) changedLocked(now time.Time, hosts []string) {
	t.version++
	t.updatedAt = now
	t.snap = nil
	for s := range t.subs {
		s.add(t, hosts)
	}
	select {
	case t.changed <- struct{}{}:
	default:
	}
}
