package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller/status"
	"github.com/optimus-cm/optimus/engine"
)

// Results of one host reconcile, as counted in optimus_reconciles_total and
// kept in RunSummary.Result.
const (
	resultConverged   = "converged"
	resultFailed      = "failed"
	resultUnconverged = "unconverged"
)

// reconcile runs the engine on one host and records the outcome. The status
// is touched twice, at the start and at the end, each time only this host's
// record.
func (d *Daemon) reconcile(ctx context.Context, name string) {
	d.mu.Lock()
	want, set, ro := d.desired[name], d.set, d.ro
	if held := ro.held(name); held != nil {
		// Not rolled yet: kept, and drift-corrected, on what it had.
		want = held
	}
	d.mu.Unlock()
	if want == nil {
		return
	}
	gen := want.generation
	hold, mine := d.acquire(name)
	if !mine {
		if d.opts.Replica != nil && d.opts.Replica.Observes(name) {
			d.observeOnly(ctx, name, want)
		}
		return
	}
	if hold != nil {
		defer hold.Release()
	}
	var previousGen string
	var wasReady bool
	if !d.status.UpdateHost(name, time.Now(), func(h *status.Host) {
		previousGen = h.Status.ObservedGeneration
		wasReady = isTrue(h.Status.Conditions, v1alpha1.ConditionReady)
		h.Status.Conditions = v1alpha1.SetCondition(h.Status.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionReconciling,
			Status: v1alpha1.ConditionTrue, Reason: "Reconciling", ObservedGeneration: gen}, time.Now())
	}) {
		return
	}

	log := d.log.With("host", name)
	if ro != nil {
		log = log.With("rollout", ro.gen)
	}
	log.Debug("reconcile start", "generation", gen)
	// Work in flight is cancelled only when the shutdown grace is over:
	// then its commands on the host are stopped too, not left running.
	eng := &engine.Engine{Registry: d.opts.Registry, Pool: d.pool, Parallel: 1, MaxCycles: d.opts.MaxCycles, Dial: d.dial,
		Inventory: d.opts.Inventory, StopInFlight: true}
	if hold != nil {
		eng.Fence = func(ctx context.Context, _ string) ([]engine.EnvVar, error) { return d.fence(ctx, hold) }
	}
	start := time.Now()
	// The engine gets this host's resources only: matching the whole set
	// against one host on every reconcile would cost the fleet's size.
	rep, err := eng.Run(ctx, []*v1alpha1.Host{want.host}, want.resources)
	took := time.Since(start)
	d.m.duration.Observe(took.Seconds())
	d.recordRun(ctx, set, name, rep, err, start, took)
	d.web.recordRun(name, rep, time.Now())

	result, reason := resultFailed, ""
	var hr engine.HostReport
	var run *v1alpha1.RunSummary
	hostErr := err
	switch {
	case err != nil:
		reason = err.Error()
	case len(rep.Hosts) == 1:
		hr = rep.Hosts[0]
		switch hr.State {
		case engine.HostConverged:
			result = resultConverged
		case engine.HostFailed:
			reason, hostErr = hr.Reason(), hr.Err
		default:
			result, reason = resultUnconverged, "still changing after the maximum number of cycles"
			if rep.Interrupted {
				reason = "interrupted by shutdown"
			}
		}
		run = &v1alpha1.RunSummary{Start: start, Duration: took, Cycles: rep.Cycles, Changed: hr.Changed, Failed: hr.Failed, Result: result}
	}
	d.m.reconciles.WithLabelValues(result).Inc()
	if rep != nil {
		for _, p := range rep.Plans {
			for _, hp := range p.Hosts {
				for _, a := range hp.Actions {
					level := slog.LevelInfo
					if a.Status == engine.StatusFailed {
						level = slog.LevelError
					}
					log.Log(ctx, level, a.Description, "resource", a.Resource.String(), "status", string(a.Status), "cycle", p.Cycle, "err", a.ErrorText())
				}
			}
		}
	}
	states := resourceStates(want, rep, result)
	if fenced(hostErr) {
		// Another replica owns the host now, or this one may no longer act:
		// no fault of the host, so no backoff; its owner reports it.
		log.Warn("act refused; not reconciling this host", "why", hostErr.Error())
		d.status.UpdateHost(name, time.Now(), func(h *status.Host) {
			h.Status.Conditions = v1alpha1.SetCondition(h.Status.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionReconciling,
				Status: v1alpha1.ConditionFalse, Reason: "Fenced", Message: hostErr.Error(), ObservedGeneration: gen}, time.Now())
		})
		return
	}

	now := time.Now()
	var delay time.Duration
	var failures int
	why, terminal := quarantineReason(hostErr)
	d.status.UpdateHost(name, now, func(h *status.Host) {
		hs := &h.Status
		// A pass that changed nothing keeps the slice the host had: old
		// snapshots share it instead of every host holding two copies.
		if !slices.Equal(h.Resources, states) {
			h.Resources = states
		}
		h.Passed = true
		if run != nil {
			hs.LastRun = run
		}
		hs.Conditions = v1alpha1.SetCondition(hs.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionReconciling,
			Status: v1alpha1.ConditionFalse, Reason: "Idle", ObservedGeneration: gen}, now)
		if result == resultConverged {
			hs.ObservedGeneration, hs.Failures, hs.NextRetry, hs.LastError = gen, 0, nil, ""
			hs.Conditions = v1alpha1.SetCondition(hs.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionReady,
				Status: v1alpha1.ConditionTrue, Reason: "Converged", Message: fmt.Sprintf("%d changed in %s", hr.Changed, took.Round(time.Millisecond)), ObservedGeneration: gen}, now)
			hs.Conditions = v1alpha1.SetCondition(hs.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionQuarantined,
				Status: v1alpha1.ConditionFalse, Reason: "Healthy", ObservedGeneration: gen}, now)
			return
		}
		hs.Failures++
		failures = hs.Failures
		delay = retryDelay(d.opts.BackoffInitial, d.opts.BackoffMax, hs.Failures, terminal)
		next := now.Add(delay)
		hs.NextRetry, hs.LastError = &next, reason
		ready, quarantined, qReason := "NotConverged", v1alpha1.ConditionFalse, "Healthy"
		if result == resultFailed {
			ready, quarantined, qReason = "Quarantined", v1alpha1.ConditionTrue, why
		}
		hs.Conditions = v1alpha1.SetCondition(hs.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionReady,
			Status: v1alpha1.ConditionFalse, Reason: ready, Message: reason, ObservedGeneration: gen}, now)
		hs.Conditions = v1alpha1.SetCondition(hs.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionQuarantined,
			Status: quarantined, Reason: qReason, Message: reason + "; next retry at " + next.Format(time.RFC3339), ObservedGeneration: gen}, now)
	})
	if ro != nil {
		d.rolloutOutcome(ctx, ro, want, result, states, reason)
	}
	if result == resultConverged {
		// The series of the generation it had goes; finding it by a partial
		// match would scan every host's series on every reconcile.
		if previousGen != "" && previousGen != gen {
			d.m.generation.DeleteLabelValues(name, previousGen)
		}
		d.m.generation.WithLabelValues(name, gen).Set(1)
		if hr.Changed > 0 && previousGen == gen && wasReady {
			d.m.drift.Inc()
			log.Info("drift corrected", "changed", hr.Changed)
		}
		log.Info("reconciled", "result", result, "changed", hr.Changed, "duration", took)
	} else {
		log.Warn("reconcile failed; retrying with backoff", "result", result, "reason", why, "terminal", terminal, "err", reason, "retry_in", delay.Round(time.Millisecond), "failures", failures)
		d.q.AddAfter(name, delay)
	}
	d.publishStatus(name)
	d.updateReady(now)
}

// resourceStates is the state of every resource targeting a host after a
// reconcile, in the order of the manifests.
func resourceStates(want *desiredHost, rep *engine.Report, result string) []status.ResourceState {
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
				case engine.StatusFailed:
					set(ref, status.StateFailed, a.ErrorText())
				case engine.StatusSkipped, engine.StatusPlanned:
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
