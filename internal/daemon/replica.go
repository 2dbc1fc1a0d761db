package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/cluster"
	"github.com/optimus-cm/optimus/internal/history"
	"github.com/optimus-cm/optimus/internal/manifest"
	"github.com/optimus-cm/optimus/internal/status"
)

// replicaState is what the daemon remembers of its replica's ownerships, to
// queue the hosts it gains, and the hosts it still owns but passed over
// while it could not act (its lease not confirmed lately), to queue them
// when it can again.
type replicaState struct {
	mu       sync.Mutex
	owned    map[string]bool
	deferred map[string]bool
}

// deferOwned remembers a host passed over while the replica could not act
// on it. Without this a lease that etcd confirmed a few seconds late left
// the host to the next resync, and a rollout's batch waited for it: at
// 10,000 hosts, batch 1 stopped at 99 of 100 hosts.
func (d *Daemon) deferOwned(name string) {
	d.rs.mu.Lock()
	defer d.rs.mu.Unlock()
	if d.rs.deferred == nil {
		d.rs.deferred = map[string]bool{}
	}
	d.rs.deferred[name] = true
}

// startReplica runs the replica until the returned stop is called; stop
// waits for it to release its hosts and revoke its lease. It is stopped
// only after work in flight has finished, so that no host is handed over
// while this replica still acts on it.
func (d *Daemon) startReplica() (stop func()) {
	r := d.opts.Replica
	if r == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	// The fleet's status is served from a watch of etcd, not read per request.
	fleetDone := make(chan struct{})
	go func() { defer close(fleetDone); d.fleet.run(ctx) }()
	// Every replica follows the fleet's rollout as etcd has it.
	rolloutDone := make(chan struct{})
	go func() {
		defer close(rolloutDone)
		changes := r.WatchRollout(ctx)
		for {
			select {
			case <-ctx.Done():
				return
			case <-changes:
				d.refreshSoon()
			}
		}
	}()
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		// The lease's local deadline passes without any event, so the
		// condition is also refreshed on a tick.
		tick := time.NewTicker(r.TTL() / 4)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-r.Changes():
			case <-tick.C:
			}
			d.replicaChanged()
		}
	}()
	return func() { cancel(); <-done; <-watchDone; <-rolloutDone; <-fleetDone }
}

// replicaChanged queues the hosts this replica gained and reports its
// standing as the controller's Replica condition.
func (d *Daemon) replicaChanged() {
	r := d.opts.Replica
	now := time.Now()
	owned := map[string]bool{}
	for _, h := range r.Owned() {
		owned[h] = true
	}
	d.rs.mu.Lock()
	var gained []string
	for h := range owned {
		if !d.rs.owned[h] {
			gained = append(gained, h)
		}
	}
	state, msg := r.Condition()
	var resumed []string
	if state == cluster.StateActive {
		// Acting again: the hosts passed over meanwhile that stayed this
		// replica's (a host gained is queued as such).
		for h := range d.rs.deferred {
			if owned[h] && d.rs.owned[h] {
				resumed = append(resumed, h)
			}
		}
		d.rs.deferred = nil
	}
	d.rs.owned = owned
	d.rs.mu.Unlock()
	sort.Strings(gained)
	for _, h := range gained {
		d.log.Info("host taken over by this replica", "host", h)
		d.q.Add(h, priorityChange)
	}
	for _, h := range resumed {
		d.log.Info("host passed over while the lease was not confirmed; queued again", "host", h)
		d.q.Add(h, priorityChange)
	}
	d.replicaMoveTo()
	c := v1alpha1.Condition{Type: v1alpha1.ConditionReplica, Status: v1alpha1.ConditionTrue, Reason: string(state), Message: msg}
	if state != cluster.StateActive {
		c.Status = v1alpha1.ConditionFalse
	}
	d.status.SetCondition(c, now)
}

// replicaManifests tells the replica which hosts exist and the digest of
// this copy of the manifests.
func (d *Daemon) replicaManifests(set *manifest.Set) {
	r := d.opts.Replica
	if r == nil {
		return
	}
	var names []string
	for _, h := range set.Hosts() {
		names = append(names, h.Metadata.Name)
	}
	r.SetHosts(names)
	r.SetDigest(history.Digest(set))
}

// replicaMoveTo starts the fleet's move to this replica's manifests once
// every replica agreed on them: one replica's swap of the rollout record
// wins, and the others adopt it.
func (d *Daemon) replicaMoveTo() {
	r := d.opts.Replica
	if r == nil {
		return
	}
	d.mu.Lock()
	digest, inStep := d.digest, d.inStepLocked()
	d.mu.Unlock()
	if inStep || digest == "" || r.Agreed() != digest {
		return
	}
	if err := d.moveTo(d.bg); err != nil {
		d.log.Warn("rollout state: cannot move the fleet to the agreed manifests yet", "err", err)
	}
}

// acquire returns the hold under which this replica may reconcile host; ok
// is false when another replica owns it (or none may act now). A host this
// replica does not own counts as passed for readiness: its owner does it.
func (d *Daemon) acquire(name string) (hold *cluster.Hold, ok bool) {
	r := d.opts.Replica
	if r == nil {
		return nil, true
	}
	hold, err := r.Acquire(name)
	if err != nil {
		d.log.Debug("not reconciling", "host", name, "why", err.Error())
		if h, ok := d.status.Host(name); ok && !h.Passed {
			d.status.UpdateHost(name, time.Now(), func(h *status.Host) { h.Passed = true })
			d.updateReady(time.Now())
		}
		return nil, false
	}
	return hold, true
}

// fence checks the ownership right before an act and gives the act's
// commands the replica's name and fencing token (OPTIMUS_REPLICA,
// OPTIMUS_FENCING_TOKEN): a command on the host may record them, or refuse
// a token lower than one it has seen.
func (d *Daemon) fence(ctx context.Context, hold *cluster.Hold) ([]controller.EnvVar, error) {
	if err := hold.Fence(ctx); err != nil {
		return nil, err
	}
	return []controller.EnvVar{{Name: "OPTIMUS_REPLICA", Value: d.opts.Replica.ID()},
		{Name: "OPTIMUS_FENCING_TOKEN", Value: strconv.FormatInt(hold.Token(), 10)}}, nil
}

// observeOnly observes a host this replica held when it lost etcd, without
// acting: its status says whether it has drifted meanwhile.
func (d *Daemon) observeOnly(ctx context.Context, name string, want *desiredHost) {
	eng := &controller.Engine{Registry: d.opts.Registry, Pool: d.pool, Parallel: 1, MaxCycles: 1, Dial: d.dial, DryRun: true}
	rep, err := eng.Run(ctx, []*v1alpha1.Host{want.host}, want.resources)
	pending := 0
	if err == nil {
		for _, p := range rep.Plans {
			pending += p.Pending()
		}
	}
	if err == nil && pending == 0 {
		return
	}
	msg := fmt.Sprintf("%d differences observed; not acting until etcd answers", pending)
	if err != nil {
		msg = "observe: " + err.Error()
	}
	d.log.Info("observed without acting (etcd unavailable)", "host", name, "differences", pending)
	now := time.Now()
	d.status.UpdateHost(name, now, func(h *status.Host) {
		h.Status.Conditions = v1alpha1.SetCondition(h.Status.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionReady,
			Status: v1alpha1.ConditionFalse, Reason: string(cluster.StateEtcdUnavailable), Message: msg, ObservedGeneration: want.generation}, now)
	})
}

// fenced says whether a reconcile's failure is a refused act: the host
// changed hands or the lease is expiring. It is no fault of the host.
func fenced(err error) bool { return errors.Is(err, cluster.ErrFenced) }

// publishStatus hands the host's status to the replica's batched writer.
func (d *Daemon) publishStatus(name string) {
	r := d.opts.Replica
	if r == nil {
		return
	}
	if h, ok := d.status.Host(name); ok {
		st := h.Status
		st.Replica = r.ID()
		if err := r.PublishStatus(name, st); err != nil {
			d.log.Warn("publish status", "host", name, "err", err)
		}
	}
}

// fleetStatus is controllerStatus encoded for the status API.
func (d *Daemon) fleetStatus(ctx context.Context) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d.controllerStatus(ctx)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// controllerStatus is the status of the whole fleet: this replica's own
// hosts from its tracker and, when it shares the fleet, the others' as their
// owners wrote them into etcd, the owner of every host, and the live
// replicas. The status API and the status page both read it.
func (d *Daemon) controllerStatus(ctx context.Context) *v1alpha1.ControllerStatus {
	cs := d.status.Snapshot().ControllerStatus()
	cs.Version = d.opts.Version
	r := d.opts.Replica
	if r == nil {
		return cs
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var f *cluster.Fleet
	if d.fleet.cache.Synced() {
		f = d.fleet.cache.Fleet(ctx) // the watch keeps it; etcd is asked for lease TTLs only
	} else {
		var err error
		if f, err = cluster.ReadFleet(ctx, r.Client(), r.Prefix()); err != nil {
			d.log.Warn("fleet status from etcd", "err", err)
			return cs
		}
	}
	mergeFleet(cs, f, r.ID())
	return cs
}

func mergeFleet(cs *v1alpha1.ControllerStatus, f *cluster.Fleet, self string) {
	for i := range cs.Hosts {
		h := &cs.Hosts[i]
		owner := f.Owners[h.Name]
		if rec, ok := f.Status[h.Name]; ok && owner != self {
			var st v1alpha1.HostStatus
			if json.Unmarshal(rec.Status, &st) == nil {
				st.Name, st.Address = h.Name, h.Address
				*h = st
			}
		}
		h.Replica = owner
	}
	count := map[string]int{}
	for _, id := range f.Owners {
		count[id]++
	}
	for _, m := range f.Members {
		cs.Replicas = append(cs.Replicas, v1alpha1.ReplicaStatus{ID: m.ID, Hosts: count[m.ID], Since: m.Since,
			LeaseTTL: f.LeaseTTL[m.ID], Digest: m.Digest, InSync: f.Generation != nil && f.Generation.Digest == m.Digest, Addr: m.Addr})
	}
	sort.Slice(cs.Replicas, func(i, j int) bool { return cs.Replicas[i].ID < cs.Replicas[j].ID })
}
