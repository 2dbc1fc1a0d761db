package daemon

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/cluster"
	"github.com/optimus-cm/optimus/internal/status"
)

// replicaFleet is what a replica serves as the fleet's status: its own
// hosts from its tracker, the others' as their owners wrote them to etcd,
// merged host by host into a status.View whenever either side changes.
// The etcd side is a watch-fed cache, so no request reads etcd.
type replicaFleet struct {
	self  string
	tr    *status.Tracker
	cache *cluster.StatusCache
	view  *status.View

	// mu orders merges of one host: a tracker update and a cache update of
	// the same host must not overtake each other between read and Put.
	mu sync.Mutex
	// subs are told (coalesced) that the view changed: the status page's
	// live updates, which the tracker alone would not give for the hosts
	// other replicas own.
	subs map[chan struct{}]struct{}
	// ready is set once the view holds every host of the tracker; until
	// then pages and counts come from the tracker alone.
	ready atomic.Bool
}

// pages is where lists are cut: the merged view once it is filled.
func (f *replicaFleet) pages() pager {
	if f.ready.Load() {
		return f.view
	}
	return f.tr
}

// counts are the merged view's once it is filled, else the tracker's.
func (f *replicaFleet) counts() status.Counts {
	if f.ready.Load() {
		return f.view.Counts()
	}
	return f.tr.Counts()
}

// pager cuts pages: the tracker or a view.
type pager interface {
	Page(q status.Query, labels status.LabelFunc) status.Page
}

// subscribe returns a channel that receives a value after the view
// changes, and the function that ends the subscription.
func (f *replicaFleet) subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	return ch, func() {
		f.mu.Lock()
		delete(f.subs, ch)
		f.mu.Unlock()
	}
}

func newReplicaFleet(r *cluster.Replica, tr *status.Tracker) *replicaFleet {
	f := &replicaFleet{self: r.ID(), tr: tr, view: status.NewView(), subs: map[chan struct{}]struct{}{}}
	f.cache = r.StatusCache(f.merge)
	return f
}

// run feeds the view until ctx ends: the tracker's changes from a
// subscription, etcd's from the cache's watch. It returns when both have
// stopped.
func (f *replicaFleet) run(ctx context.Context) {
	updates, cancel := f.tr.Subscribe()
	defer cancel()
	// Everything the tracker holds now; later changes come as updates.
	snap := f.tr.Snapshot()
	names := make([]string, len(snap.Hosts))
	for i, h := range snap.Hosts {
		names[i] = h.Status.Name
	}
	f.merge(names)
	f.ready.Store(true)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); f.cache.Run(ctx, time.Second) }()
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case u, ok := <-updates:
			if !ok {
				return
			}
			if u.Version <= snap.Version {
				continue
			}
			hosts := make([]string, len(u.Hosts))
			for i, hu := range u.Hosts {
				hosts[i] = hu.Name
			}
			f.merge(hosts)
		}
	}
}

// merge recomputes the view's record of each host: the tracker's, with
// the status the owner wrote when another replica owns it, and the owner
// named. A host the tracker does not have (not in this replica's
// manifests) is not served.
func (f *replicaFleet) merge(hosts []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	for _, name := range hosts {
		local, ok := f.tr.Host(name)
		if !ok {
			f.view.Put(name, nil, now)
			continue
		}
		owner, rec, has := f.cache.Host(name)
		h := *local
		h.Status.Replica = owner
		if has && owner != f.self {
			var st v1alpha1.HostStatus
			if json.Unmarshal(rec.Status, &st) == nil {
				st.Name, st.Address, st.Replica = local.Status.Name, local.Status.Address, owner
				h.Status = st
			}
		}
		f.view.Put(name, &h, now)
	}
	for ch := range f.subs {
		select {
		case ch <- struct{}{}:
		default: // a change is already pending for this subscriber
		}
	}
}

// replicas lists the live replicas from the cache.
func (f *replicaFleet) replicas() []v1alpha1.ReplicaStatus {
	members, owned := f.cache.Members()
	gen := f.cache.Generation()
	out := make([]v1alpha1.ReplicaStatus, 0, len(members))
	for _, m := range members {
		out = append(out, v1alpha1.ReplicaStatus{ID: m.ID, Hosts: owned[m.ID], Since: m.Since, Digest: m.Digest, Addr: m.Addr,
			InSync: gen != nil && gen.Digest == m.Digest})
	}
	return out
}
