package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/manifest"
	"github.com/optimus-cm/optimus/internal/status"
)

// storeTimeout bounds one exchange with the rollout store: etcd that does
// not answer must not hold a reload or a reconcile for long.
const storeTimeout = 10 * time.Second

// snapshotDesired is the desired state of every host under the manifests
// of digest: from the cache (the manifests this process loaded), or from
// the stored snapshot, extracted and loaded once. Loads are one at a time
// (snapLoad); the cache lock is never held across the store's I/O, so that
// a reconcile looking up what a host is held to never waits for etcd.
func (d *Daemon) snapshotDesired(ctx context.Context, digest string) (map[string]*desiredHost, error) {
	d.snapLoad.Lock()
	defer d.snapLoad.Unlock()
	d.snapMu.Lock()
	m, ok := d.snaps[digest]
	base := d.snapBase
	d.snapMu.Unlock()
	if ok {
		return m, nil
	}
	data, err := d.store.snapshot(ctx, digest)
	if err != nil {
		return nil, err
	}
	if base == "" {
		if base, err = d.extractBase(); err != nil {
			return nil, fmt.Errorf("no place to unpack manifests %s: %w", digest, err)
		}
		d.snapMu.Lock()
		d.snapBase = base
		d.snapMu.Unlock()
	}
	dir := filepath.Join(base, digest)
	_ = os.RemoveAll(dir)
	if err := extractSnapshot(data, dir); err != nil {
		return nil, err
	}
	l := &manifest.Loader{Scheme: d.opts.Scheme, Edges: d.opts.Registry.Dependencies, Declare: d.opts.Declare}
	set, err := l.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("manifests %s as stored: %w", digest, err)
	}
	_, desired, _ := desiredOf(set, dir)
	d.snapMu.Lock()
	d.snaps[digest] = desired
	d.snapMu.Unlock()
	return desired, nil
}

// extractBase makes the directory stored snapshots are unpacked in, only
// when one is needed: under the state directory when there is one (a
// container built from scratch has no /tmp), else in the temporary
// directory.
func (d *Daemon) extractBase() (string, error) {
	if d.opts.StateDir != "" {
		dir := filepath.Join(d.opts.StateDir, "manifests-unpacked")
		_ = os.RemoveAll(dir)
		return dir, os.MkdirAll(dir, 0o700)
	}
	return os.MkdirTemp("", "optimus-manifests-")
}

// cacheSnapshot remembers the desired state of manifests this process
// loaded, and forgets those no record refers to any more.
func (d *Daemon) cacheSnapshot(digest string, desired map[string]*desiredHost, keep map[string]bool) {
	d.snapMu.Lock()
	defer d.snapMu.Unlock()
	if desired != nil {
		d.snaps[digest] = desired
	}
	if keep == nil {
		return
	}
	for dg := range d.snaps {
		if !keep[dg] {
			delete(d.snaps, dg)
			if d.snapBase != "" {
				_ = os.RemoveAll(filepath.Join(d.snapBase, dg))
			}
		}
	}
}

// referenced are the digests a record keeps: the current manifests and
// those a member waiting for its batch is held to.
func referenced(rec *fleetRecord) map[string]bool {
	keep := map[string]bool{}
	if rec == nil {
		return keep
	}
	keep[rec.Current] = true
	if rec.Rollout != nil {
		for name := range rec.Rollout.Held {
			if h, pending := rec.keptOn(name, nil); pending {
				keep[h.Digest] = true
			}
		}
	}
	return keep
}

// collect removes the snapshots rec no longer refers to, stored and
// cached: after a rollout moves on, no host may be held to them.
func (d *Daemon) collect(ctx context.Context, rec *fleetRecord) {
	keep := referenced(rec)
	// The manifests in hand may become the fleet's at the next agreement.
	keep[d.currentDigest()] = true
	if err := d.store.keepSnapshots(ctx, keep); err != nil {
		d.log.Warn("removing unused manifests snapshots", "err", err)
	}
	d.cacheSnapshot("", nil, keep)
}

// refresh reads the stored rollout state and makes it the daemon's: hosts
// whose target changed are queued, conditions and metrics follow. Then it
// moves the rollout on where the outcomes allow.
func (d *Daemon) refresh(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	rec, outcomes, rev, err := d.store.load(ctx)
	if err != nil {
		d.log.Warn("rollout state", "err", err)
		return
	}
	// Snapshots are read before the lock: they may come from etcd.
	for dg := range referenced(rec) {
		if _, err := d.snapshotDesired(ctx, dg); err != nil && dg != d.currentDigest() {
			d.log.Error("previous generation unavailable: hosts held to it are not reconciled", "manifests", dg, "err", err)
		}
	}
	now := time.Now()
	d.mu.Lock()
	queue := d.applyLocked(rec, outcomes, rev, now)
	d.mu.Unlock()
	for _, n := range queue {
		d.q.Add(n, priorityChange)
	}
	d.drive(ctx)
}

func (d *Daemon) currentDigest() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.digest
}

// applyLocked installs a stored state and returns the hosts to queue: those
// whose target (held or current) changed, and every host when the record
// caught up with the manifests this daemon has.
func (d *Daemon) applyLocked(rec *fleetRecord, outcomes map[string]outcomeRecord, rev int64, now time.Time) []string {
	if rev < d.rev {
		return nil // an older read than the state in hand
	}
	wasInStep := d.inStepLocked()
	d.rec, d.outcomes, d.rev = rec, outcomes, rev
	return d.rebuildLocked(now, wasInStep)
}

// rebuildLocked derives the rollout view from the stored state in hand for
// the manifests in hand, and returns the hosts to queue. It runs whenever
// either changes: a view derived for other manifests than those in hand
// says nothing about which hosts are held (a replica that read the fleet's
// new record before loading the new manifests itself once took every
// host it owned forward, past a halted rollout).
// wasInStep is whether hosts were reconciled before the change: the hosts
// passed over meanwhile are queued when they may be again.
func (d *Daemon) rebuildLocked(now time.Time, wasInStep bool) []string {
	was := d.ro
	var rr *rolloutRecord
	if d.rec != nil && d.rec.Current == d.digest {
		rr = d.rec.Rollout
	}
	d.ro = newView(rr, d.outcomes, d.keptOnLocked)
	d.viewOf = d.digest
	d.logTransitionLocked(was, d.ro)
	d.hostConditionsLocked(was, d.ro, now)
	d.rolloutChangedLocked(now)
	d.pauseTimerLocked()
	var queue []string
	if d.inStepLocked() && !wasInStep {
		// The hosts passed over while the state was behind; the others
		// are queued by the load that brought these manifests (with
		// their saved backoff kept).
		for name := range d.waiting {
			queue = append(queue, name)
		}
		clear(d.waiting)
	}
	for name := range d.desired {
		a, ap := was.held(name)
		b, bp := d.ro.held(name)
		sa, _ := was.stateOf(name)
		sb, _ := d.ro.stateOf(name)
		if a != b || ap != bp || (sb == memberAdmitted && sa != memberAdmitted) {
			queue = append(queue, name)
		}
	}
	return queue
}

// followLocked derives the view again after the manifests in hand changed,
// when the stored state is already about them: the fleet moved to them
// before this replica loaded them. It returns the hosts to queue.
func (d *Daemon) followLocked(now time.Time) []string {
	if d.viewOf == d.digest || d.rec == nil || d.rec.Current != d.digest {
		return nil // in step already, or not until the state catches up
	}
	return d.rebuildLocked(now, false)
}

// keptOnLocked is the desired state a member waiting for its batch is held
// to: its entry in the snapshot of the manifests it had, only if that is
// the generation the rollout recorded for it. nil (the host is not
// reconciled) when the snapshot is not loaded, lacks the host, or does not
// match: a host is never moved to a generation it was not held to.
func (d *Daemon) keptOnLocked(name string, h heldRecord) *desiredHost {
	d.snapMu.Lock()
	want := d.snaps[h.Digest][name]
	d.snapMu.Unlock()
	if want != nil && h.Generation != "" && want.generation != h.Generation {
		d.log.Error("a held host's stored manifests do not match its recorded generation; it is not reconciled",
			"host", name, "manifests", h.Digest, "held_generation", h.Generation, "snapshot_generation", want.generation)
		return nil
	}
	return want
}

// inStepLocked says whether the stored state is about the manifests in
// hand, and the view in hand derived for them: until it is, no host is
// reconciled, so that no host moves to a generation before the fleet's
// rollout says it may.
func (d *Daemon) inStepLocked() bool {
	return d.rec != nil && d.rec.Current == d.digest && d.viewOf == d.digest
}

func (d *Daemon) logTransitionLocked(was, ro *rollout) {
	if ro == nil {
		return
	}
	rr := ro.rec
	if was == nil || was.rec.Seq != rr.Seq {
		d.log.Info("rollout", "rollout", rr.Gen, "previous", rr.Previous, "phase", rr.Phase, "batch", rr.Batch+1,
			"batches", len(rr.Batches), "hosts", len(rr.Held), "budget", rr.sizes().MaxFail.String())
		return
	}
	switch {
	case was.rec.Phase == rr.Phase && was.rec.Batch == rr.Batch:
	case rr.Phase == v1alpha1.RolloutHalted:
		d.log.Error("rollout halted: failure budget spent", "rollout", rr.Gen, "batch", rr.Batch+1,
			"failed", ro.count(memberFailed), "budget", rr.sizes().MaxFail.String(), "kept_on_previous", ro.count(memberPending))
	case rr.Phase == v1alpha1.RolloutComplete:
		d.log.Info("rollout complete", "rollout", rr.Gen, "done", ro.count(memberDone), "failed", ro.count(memberFailed))
	case rr.Phase == v1alpha1.RolloutAborted:
		d.log.Warn("rollout aborted", "rollout", rr.Gen, "kept_on_previous", ro.count(memberPending))
	case rr.Batch != was.rec.Batch:
		d.log.Info("rollout: next batch", "rollout", rr.Gen, "batch", rr.Batch+1, "hosts", rr.Batches[rr.Batch])
	default:
		d.log.Info("rollout", "rollout", rr.Gen, "phase", rr.Phase, "batch", rr.Batch+1)
	}
}

// pauseTimerLocked wakes the daemon when a pause between batches ends:
// whichever replica (or restarted controller) wakes first starts the batch.
func (d *Daemon) pauseTimerLocked() {
	if d.pause != nil {
		d.pause.Stop()
		d.pause = nil
	}
	ro := d.ro
	if ro == nil || ro.rec.Phase != v1alpha1.RolloutPaused || ro.rec.PauseUntil == nil {
		return
	}
	d.pause = time.AfterFunc(time.Until(*ro.rec.PauseUntil), func() { d.refresh(d.bg) })
}

// drive stores whatever the outcomes allow the rollout to do next. Another
// replica may move it first; then the swap fails and the state is read
// again.
func (d *Daemon) drive(ctx context.Context) {
	d.mu.Lock()
	rec, outcomes, rev := cloneRecord(d.rec), d.outcomes, d.rev
	d.mu.Unlock()
	if rec == nil || rec.Rollout == nil || rec.Current != d.currentDigest() {
		return
	}
	if !rec.Rollout.advance(outcomes, time.Now()) {
		return
	}
	ok, err := d.store.swap(ctx, rev, rec)
	if err != nil {
		d.log.Warn("rollout state", "err", err)
		return
	}
	if ok {
		d.collect(ctx, rec)
	}
	// Either way the stored state is newer than ours.
	d.refresh(ctx)
}

// moveTo makes the manifests in hand the fleet's current ones, starting a
// rollout of the hosts they change from what each is kept on now. Alone,
// the daemon calls it on every load; among replicas, once the fleet agreed
// on these manifests.
func (d *Daemon) moveTo(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	for range 8 {
		rec, outcomes, rev, err := d.store.load(ctx)
		if err != nil {
			return err
		}
		d.mu.Lock()
		set, digest, desired := d.set, d.digest, d.desired
		d.mu.Unlock()
		if rec != nil && rec.Current == digest {
			d.refresh(ctx)
			return nil
		}
		var current map[string]*desiredHost
		if rec != nil {
			if current, err = d.snapshotDesired(ctx, rec.Current); err != nil {
				// Not knowing what hosts have, every host the new
				// manifests keep is held until its batch.
				d.log.Error("the fleet's current manifests are unavailable; every host waits for its batch", "manifests", rec.Current, "err", err)
			}
		}
		old := func(name string) (heldRecord, bool) {
			if h, pending := rec.keptOn(name, outcomes); pending {
				return h, true
			}
			if current == nil {
				return heldRecord{Digest: rec.Current}, rec != nil
			}
			if c := current[name]; c != nil {
				return heldRecord{Digest: rec.Current, Generation: c.generation}, true
			}
			return heldRecord{}, false
		}
		next, err := nextRecord(rec, set, digest, set.Hosts(), desired, old, time.Now())
		if err != nil {
			return err
		}
		if err := d.putOwnSnapshot(ctx); err != nil {
			return err
		}
		ok, err := d.store.swap(ctx, rev, next)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		d.collect(ctx, next)
		d.refresh(ctx)
		return nil
	}
	return fmt.Errorf("the rollout state kept changing under this controller; will try again")
}

// putOwnSnapshot stores the snapshot of the manifests in hand, so that a
// record never refers to manifests that cannot be read back.
func (d *Daemon) putOwnSnapshot(ctx context.Context) error {
	d.mu.Lock()
	digest, data := d.digest, d.snapData
	d.mu.Unlock()
	if data == nil {
		// Too large to keep (logged at load): hosts held to these
		// manifests after a restart are left alone, never moved on.
		return nil
	}
	return d.store.putSnapshot(ctx, digest, data)
}

// rolloutOutcome records what a reconcile of a member on the rollout's
// generation came to, runs its health checks when it converged, and moves
// the rollout on.
func (d *Daemon) rolloutOutcome(ctx context.Context, job *reconcileJob) {
	ro, want, name := job.ro, job.want, job.name
	d.mu.Lock()
	admitted := d.ro != nil && d.ro.rec.Seq == ro.rec.Seq && d.ro.state[name] == memberAdmitted && d.desired[name] == want
	d.mu.Unlock()
	if !admitted {
		return
	}
	o := outcomeRecord{Seq: ro.rec.Seq, Done: true}
	if job.result != resultConverged {
		f := &v1alpha1.RolloutFailure{Host: name, Reason: job.reason}
		for _, s := range job.states {
			if s.State == status.StateFailed {
				f.Resources = append(f.Resources, s.Ref.String()+": "+s.Message)
			}
		}
		o.Done, o.Failure = false, f
	} else if err := d.healthCheck(ctx, want.host, d.policy().HealthChecks); err != nil {
		o.Done, o.Failure = false, &v1alpha1.RolloutFailure{Host: name, Reason: err.Error()}
	}
	o.At = time.Now().UTC()
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := d.store.putOutcome(sctx, job.hold, name, o); err != nil {
		d.log.Warn("rollout: outcome not recorded; the host is tried again", "host", name, "err", err)
		d.q.AddAfter(name, d.opts.BackoffInitial)
		return
	}
	if o.Done {
		d.log.Info("rollout: host done", "rollout", ro.gen, "host", name, "batch", ro.rec.Batch+1)
	} else {
		d.log.Warn("rollout: host failed", "rollout", ro.gen, "host", name, "batch", ro.rec.Batch+1, "reason", o.Failure.Reason)
	}
	d.refreshSoon()
}

// refreshSoon asks for the stored state to be read again. Requests made
// while a read is under way are served by one more read: outcomes of a
// large batch arriving together cost a few reads of the state, not one
// each (each read is of every outcome).
func (d *Daemon) refreshSoon() {
	select {
	case d.refreshKick <- struct{}{}:
	default:
	}
}

// refreshLoop serves refreshSoon until ctx ends.
func (d *Daemon) refreshLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.refreshKick:
			d.refresh(ctx)
		}
	}
}

// policy is the RolloutPolicy of the manifests in hand.
func (d *Daemon) policy() *v1alpha1.RolloutPolicySpec {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.set == nil || d.set.Policy == nil {
		return &v1alpha1.RolloutPolicySpec{}
	}
	return d.set.Policy.Spec.(*v1alpha1.RolloutPolicySpec)
}

// changeRollout applies change to the stored rollout, from whichever
// replica is asked, and returns it as the API serves it.
func (d *Daemon) changeRollout(change func(rr *rolloutRecord, outcomes map[string]outcomeRecord) error) (*v1alpha1.RolloutStatus, error) {
	ctx, cancel := context.WithTimeout(d.bg, storeTimeout)
	defer cancel()
	for range 8 {
		rec, outcomes, rev, err := d.store.load(ctx)
		if err != nil {
			return nil, err
		}
		if rec == nil || rec.Rollout == nil || rec.Current != d.currentDigest() {
			return nil, ErrNoRollout
		}
		if err := change(rec.Rollout, outcomes); err != nil {
			return nil, err
		}
		ok, err := d.store.swap(ctx, rev, rec)
		if err != nil {
			return nil, err
		}
		if ok {
			d.collect(ctx, rec)
			d.refresh(ctx)
			if st := d.RolloutStatus(); st != nil {
				return st, nil
			}
			return nil, ErrNoRollout
		}
	}
	return nil, fmt.Errorf("the rollout kept changing; try again")
}

// ResumeRollout continues a halted (or aborted) rollout with its next
// batch, accepting the failures so far.
func (d *Daemon) ResumeRollout() (*v1alpha1.RolloutStatus, error) {
	return d.changeRollout(func(rr *rolloutRecord, outcomes map[string]outcomeRecord) error {
		if err := rr.resume(outcomes, time.Now()); err != nil {
			return err
		}
		d.log.Info("rollout resumed", "rollout", rr.Gen, "accepted_failures", rr.Forgiven)
		return nil
	})
}

// AbortRollout stops the rollout: no new batch starts; hosts not yet rolled
// stay on the previous generation until the next manifest change.
func (d *Daemon) AbortRollout() (*v1alpha1.RolloutStatus, error) {
	return d.changeRollout(func(rr *rolloutRecord, _ map[string]outcomeRecord) error { return rr.abort() })
}

// encodeJSON is json.Marshal for records, which always encode.
func encodeJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
