package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/cluster"
	"github.com/optimus-cm/optimus/internal/manifest"
	"github.com/optimus-cm/optimus/internal/status"
)

// Results of one host reconcile, as counted in optimus_reconciles_total and
// kept in RunSummary.Result.
const (
	resultConverged   = "converged"
	resultFailed      = "failed"
	resultUnconverged = "unconverged"
)

// reconcile runs the engine on one host and records the outcome, in named
// steps: begin (desired state, fencing hold, Reconciling), run the engine
// (metrics, history, log), settle (conditions and backoff), the rollout's
// part, and requeue. The status is touched twice, at the start and at the
// end, each time only this host's record.
func (d *Daemon) reconcile(ctx context.Context, name string) {
	job, ok := d.beginReconcile(ctx, name)
	if !ok {
		return
	}
	if job.hold != nil {
		defer job.hold.Release()
	}
	d.runEngine(ctx, job)
	if d.fencedOut(job) {
		return
	}
	d.settle(job)
	if job.ro != nil {
		d.rolloutOutcome(ctx, job)
	}
	d.requeue(job)
}

// reconcileJob is one reconcile of one host: what it is to reach, and what
// came of it, filled in step by step.
type reconcileJob struct {
	name string
	want *desiredHost
	set  *manifest.Set
	ro   *rollout      // the current rollout, nil without one
	hold *cluster.Hold // ownership among replicas, nil alone
	gen  string
	log  *slog.Logger
	// previousGen and wasReady are the host's status before this pass.
	previousGen string
	wasReady    bool

	// What the engine did (runEngine).
	rep            *controller.Report
	start          time.Time
	took           time.Duration
	result, reason string
	hr             controller.HostReport
	run            *v1alpha1.RunSummary
	hostErr        error // why the host failed, nil when it did not
	states         []status.ResourceState

	// When it is tried again (settle).
	now      time.Time
	delay    time.Duration
	failures int
	why      string
	terminal bool
}

// beginReconcile is the first step: it finds what the host is to reach
// (the generation a rollout holds it to), takes the host's ownership among
// replicas, and marks it Reconciling. false: nothing to do here.
func (d *Daemon) beginReconcile(ctx context.Context, name string) (*reconcileJob, bool) {
	d.mu.Lock()
	// A host not rolled yet is kept, and drift-corrected, on what it had;
	// nil: not to be reconciled now (see effectiveLocked).
	want, set, ro := d.effectiveLocked(name), d.set, d.ro
	d.mu.Unlock()
	if want == nil {
		return nil, false
	}
	job := &reconcileJob{name: name, want: want, set: set, ro: ro, gen: want.generation}
	hold, mine := d.acquire(name)
	if !mine {
		if r := d.opts.Replica; r != nil {
			if r.Observes(name) {
				d.observeOnly(ctx, name, want)
			}
			// Queued again if it is still this replica's once it may act
			// (the lease may have been confirmed between the two checks).
			d.deferOwned(name)
		}
		return nil, false
	}
	job.hold = hold
	if !d.status.UpdateHost(name, time.Now(), func(h *status.Host) {
		job.previousGen = h.Status.ObservedGeneration
		job.wasReady = isTrue(h.Status.Conditions, v1alpha1.ConditionReady)
		h.Status.Conditions = v1alpha1.SetCondition(h.Status.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionReconciling,
			Status: v1alpha1.ConditionTrue, Reason: "Reconciling", ObservedGeneration: job.gen}, time.Now())
	}) {
		if hold != nil {
			hold.Release()
		}
		return nil, false
	}
	job.log = d.log.With("host", name)
	if ro != nil {
		job.log = job.log.With("rollout", ro.gen)
	}
	job.log.Debug("reconcile start", "generation", job.gen)
	return job, true
}

// runEngine is the step that runs the engine on the host, fenced on its
// ownership, and records the run: duration metric, history, status page,
// outcome, and one log line per action.
func (d *Daemon) runEngine(ctx context.Context, job *reconcileJob) {
	// Work in flight is cancelled only when the shutdown grace is over:
	// then its commands on the host are stopped too, not left running.
	eng := &controller.Engine{Registry: d.opts.Registry, Pool: d.pool, Parallel: 1, MaxCycles: d.opts.MaxCycles, Dial: d.dial,
		Inventory: d.opts.Inventory, StopInFlight: true}
	if hold := job.hold; hold != nil {
		eng.Fence = func(ctx context.Context, _ string) ([]controller.EnvVar, error) { return d.fence(ctx, hold) }
	}
	job.start = time.Now()
	// The engine gets this host's resources only: matching the whole set
	// against one host on every reconcile would cost the fleet's size.
	rep, err := eng.Run(ctx, []*v1alpha1.Host{job.want.host}, job.want.resources)
	job.rep, job.took = rep, time.Since(job.start)
	d.m.duration.Observe(job.took.Seconds())
	d.recordRun(ctx, job.set, job.name, rep, err, job.start, job.took)
	d.web.recordRun(job.name, rep, time.Now())

	job.outcome(err)
	d.m.reconciles.WithLabelValues(job.result).Inc()
	logActions(ctx, job.log, rep)
	job.states = resourceStates(job.want, rep, job.result)
}

// outcome classifies the engine's report, or the error it could not run
// with: converged, failed or unconverged, and why.
func (job *reconcileJob) outcome(err error) {
	job.result, job.hostErr = resultFailed, err
	switch {
	case err != nil:
		job.reason = err.Error()
	case len(job.rep.Hosts) == 1:
		job.hr = job.rep.Hosts[0]
		switch job.hr.State {
		case controller.HostConverged:
			job.result = resultConverged
		case controller.HostFailed:
			job.reason, job.hostErr = job.hr.Reason(), job.hr.Err
		default:
			job.result, job.reason = resultUnconverged, "still changing after the maximum number of cycles"
			if job.rep.Interrupted {
				job.reason = "interrupted by shutdown"
			}
		}
		job.run = &v1alpha1.RunSummary{Start: job.start, Duration: job.took, Cycles: job.rep.Cycles,
			Changed: job.hr.Changed, Failed: job.hr.Failed, Result: job.result}
	}
}

// logActions logs every action of a run, a failed one as an error.
func logActions(ctx context.Context, log *slog.Logger, rep *controller.Report) {
	if rep == nil {
		return
	}
	for _, p := range rep.Plans {
		for _, hp := range p.Hosts {
			for _, a := range hp.Actions {
				level := slog.LevelInfo
				if a.Status == controller.StatusFailed {
					level = slog.LevelError
				}
				log.Log(ctx, level, a.Description, "resource", a.Resource.String(), "status", string(a.Status), "cycle", p.Cycle, "err", a.ErrorText())
			}
		}
	}
}

// fencedOut is the step that stops a reconcile whose act was refused
// because another replica owns the host now, or this one may no longer
// act: no fault of the host, so no backoff; its owner reports it.
func (d *Daemon) fencedOut(job *reconcileJob) bool {
	if !fenced(job.hostErr) {
		return false
	}
	job.log.Warn("act refused; not reconciling this host", "why", job.hostErr.Error())
	d.status.UpdateHost(job.name, time.Now(), func(h *status.Host) {
		h.Status.Conditions = v1alpha1.SetCondition(h.Status.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionReconciling,
			Status: v1alpha1.ConditionFalse, Reason: "Fenced", Message: job.hostErr.Error(), ObservedGeneration: job.gen}, time.Now())
	})
	return true
}

// settle is the step that writes the host's conditions, resources and
// last run, and, for a host that did not converge, its backoff.
func (d *Daemon) settle(job *reconcileJob) {
	job.now = time.Now()
	job.why, job.terminal = quarantineReason(job.hostErr)
	now, gen := job.now, job.gen
	d.status.UpdateHost(job.name, now, func(h *status.Host) {
		hs := &h.Status
		// A pass that changed nothing keeps the slice the host had: old
		// snapshots share it instead of every host holding two copies.
		if !slices.Equal(h.Resources, job.states) {
			h.Resources = job.states
		}
		h.Passed = true
		if job.run != nil {
			hs.LastRun = job.run
		}
		hs.Conditions = v1alpha1.SetCondition(hs.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionReconciling,
			Status: v1alpha1.ConditionFalse, Reason: "Idle", ObservedGeneration: gen}, now)
		if job.result == resultConverged {
			hs.ObservedGeneration, hs.Failures, hs.NextRetry, hs.LastError = gen, 0, nil, ""
			hs.Conditions = v1alpha1.SetCondition(hs.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionReady,
				Status: v1alpha1.ConditionTrue, Reason: "Converged", Message: fmt.Sprintf("%d changed in %s", job.hr.Changed, job.took.Round(time.Millisecond)), ObservedGeneration: gen}, now)
			hs.Conditions = v1alpha1.SetCondition(hs.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionQuarantined,
				Status: v1alpha1.ConditionFalse, Reason: "Healthy", ObservedGeneration: gen}, now)
			return
		}
		hs.Failures++
		job.failures = hs.Failures
		job.delay = retryDelay(d.opts.BackoffInitial, d.opts.BackoffMax, hs.Failures, job.terminal)
		next := now.Add(job.delay)
		hs.NextRetry, hs.LastError = &next, job.reason
		ready, quarantined, qReason := "NotConverged", v1alpha1.ConditionFalse, "Healthy"
		if job.result == resultFailed {
			ready, quarantined, qReason = "Quarantined", v1alpha1.ConditionTrue, job.why
		}
		hs.Conditions = v1alpha1.SetCondition(hs.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionReady,
			Status: v1alpha1.ConditionFalse, Reason: ready, Message: job.reason, ObservedGeneration: gen}, now)
		hs.Conditions = v1alpha1.SetCondition(hs.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionQuarantined,
			Status: quarantined, Reason: qReason, Message: job.reason + "; next retry at " + next.Format(time.RFC3339), ObservedGeneration: gen}, now)
	})
}

// requeue is the last step: a converged host's generation metric and log
// line (drift corrected, when a ready host changed), or a failed host's
// retry after its backoff; then the status is published.
func (d *Daemon) requeue(job *reconcileJob) {
	name, gen, log := job.name, job.gen, job.log
	if job.result == resultConverged {
		// The series of the generation it had goes; finding it by a partial
		// match would scan every host's series on every reconcile.
		if job.previousGen != "" && job.previousGen != gen {
			d.m.generation.DeleteLabelValues(name, job.previousGen)
		}
		d.m.generation.WithLabelValues(name, gen).Set(1)
		if job.hr.Changed > 0 && job.previousGen == gen && job.wasReady {
			d.m.drift.Inc()
			log.Info("drift corrected", "changed", job.hr.Changed)
		}
		log.Info("reconciled", "result", job.result, "changed", job.hr.Changed, "duration", job.took)
	} else {
		log.Warn("reconcile failed; retrying with backoff", "result", job.result, "reason", job.why, "terminal", job.terminal,
			"err", job.reason, "retry_in", job.delay.Round(time.Millisecond), "failures", job.failures)
		d.q.AddAfter(name, job.delay)
	}
	d.publishStatus(name)
	d.updateReady(job.now)
}

// resourceStates is the state of every resource targeting a host after a
// reconcile, in the order of the manifests.
func resourceStates(want *desiredHost, rep *controller.Report, result string) []status.ResourceState {
	def := status.StateConverged
	if result != resultConverged {
		def = status.StateUnknown
	}
	states := make([]status.ResourceState, len(want.resources))
	index := make(map[v1alpha1.ResourceRef]int, len(want.resources))
	for i, r := range want.resources {
		states[i] = status.ResourceState{Ref: r.Ref(), State: def}
		index[r.Ref()] = i
	}
	set := func(ref v1alpha1.ResourceRef, state v1alpha1.ResourceState, msg string) {
		if i, ok := index[ref]; ok {
			states[i].State, states[i].Message = state, msg
		}
	}
	if rep == nil {
		return states
	}
	for _, p := range rep.Plans {
		for _, hp := range p.Hosts {
			for _, a := range hp.Actions {
				ref := a.Resource
				switch a.Status {
				case controller.StatusFailed:
					set(ref, status.StateFailed, a.ErrorText())
				case controller.StatusSkipped, controller.StatusPlanned, controller.StatusUnknown:
					if i, ok := index[ref]; ok && states[i].State != status.StateFailed {
						set(ref, status.StatePending, a.ErrorText())
					}
				}
			}
		}
	}
	for _, u := range rep.Unconverged {
		set(u.Ref, status.StatePending, "kept changing")
	}
	return states
}
