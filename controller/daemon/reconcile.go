package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/manifest"
)

// reconcile runs the engine on one host and records the outcome.
func (d *Daemon) reconcile(ctx context.Context, name string) {
	d.mu.Lock()
	set, gen := d.set, d.gens[name]
	var host *v1alpha1.Host
	if set != nil {
		for _, h := range set.Hosts() {
			if h.Metadata.Name == name {
				host = h
			}
		}
	}
	hs := d.hosts[name]
	if host == nil || hs == nil {
		d.mu.Unlock()
		return
	}
	previousGen := hs.ObservedGeneration
	wasReady := isTrue(hs.Conditions, v1alpha1.ConditionReady)
	now := time.Now()
	hs.Conditions = v1alpha1.SetCondition(hs.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionReconciling,
		Status: v1alpha1.ConditionTrue, Reason: "Reconciling", ObservedGeneration: gen}, now)
	d.mu.Unlock()

	log := d.log.With("host", name)
	log.Debug("reconcile start", "generation", gen)
	eng := &controller.Engine{Registry: d.opts.Registry, Pool: d.pool, Parallel: 1, MaxCycles: d.opts.MaxCycles, Dial: d.opts.Dial}
	start := time.Now()
	rep, err := eng.Run(ctx, []*v1alpha1.Host{host}, set.Resources)
	took := time.Since(start)
	d.m.duration.Observe(took.Seconds())

	d.mu.Lock()
	defer d.mu.Unlock()
	defer d.saveLocked()
	now = time.Now()
	hs = d.hosts[name]
	if hs == nil { // the host left the manifests meanwhile
		return
	}
	hs.Conditions = v1alpha1.SetCondition(hs.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionReconciling,
		Status: v1alpha1.ConditionFalse, Reason: "Idle", ObservedGeneration: gen}, now)
	result, reason := "failed", ""
	var hr controller.HostReport
	switch {
	case err != nil:
		reason = err.Error()
	case len(rep.Hosts) == 1:
		hr = rep.Hosts[0]
		hs.LastRun = &v1alpha1.RunSummary{Start: start, Duration: took, Cycles: rep.Cycles, Changed: hr.Changed, Failed: hr.Failed}
		switch hr.State {
		case controller.HostConverged:
			result = "converged"
		case controller.HostFailed:
			reason = hr.Reason
		default:
			result, reason = "unconverged", "still changing after the maximum number of cycles"
			if rep.Interrupted {
				reason = "interrupted by shutdown"
			}
		}
		hs.LastRun.Result = result
	}
	d.m.reconciles.WithLabelValues(result).Inc()
	if rep != nil {
		for _, p := range rep.Plans {
			for _, hp := range p.Hosts {
				for _, a := range hp.Actions {
					level := slog.LevelInfo
					if a.Status == controller.StatusFailed {
						level = slog.LevelError
					}
					log.Log(ctx, level, a.Description, "resource", a.Resource, "status", a.Status, "cycle", p.Cycle, "err", a.Error)
				}
			}
		}
	}
	d.recordResources(name, set, host, rep, result)
	if result == "converged" {
		if hr.Changed > 0 && previousGen == gen && wasReady {
			d.m.drift.Inc()
			log.Info("drift corrected", "changed", hr.Changed)
		}
		hs.ObservedGeneration, hs.Failures, hs.NextRetry, hs.LastError = gen, 0, nil, ""
		hs.Conditions = v1alpha1.SetCondition(hs.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionReady,
			Status: v1alpha1.ConditionTrue, Reason: "Converged", Message: fmt.Sprintf("%d changed in %s", hr.Changed, took.Round(time.Millisecond)), ObservedGeneration: gen}, now)
		hs.Conditions = v1alpha1.SetCondition(hs.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionQuarantined,
			Status: v1alpha1.ConditionFalse, Reason: "Healthy", ObservedGeneration: gen}, now)
		log.Info("reconciled", "result", result, "changed", hr.Changed, "duration", took)
	} else {
		hs.Failures++
		delay := backoff(d.opts.BackoffInitial, d.opts.BackoffMax, hs.Failures)
		next := now.Add(delay)
		hs.NextRetry, hs.LastError = &next, reason
		quarantined := result == "failed"
		hs.Conditions = v1alpha1.SetCondition(hs.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionReady,
			Status: v1alpha1.ConditionFalse, Reason: map[bool]string{true: "Quarantined", false: "NotConverged"}[quarantined], Message: reason, ObservedGeneration: gen}, now)
		hs.Conditions = v1alpha1.SetCondition(hs.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionQuarantined,
			Status: map[bool]v1alpha1.ConditionStatus{true: v1alpha1.ConditionTrue, false: v1alpha1.ConditionFalse}[quarantined],
			Reason: map[bool]string{true: "ReconcileFailed", false: "Healthy"}[quarantined], Message: reason + "; next retry at " + next.Format(time.RFC3339), ObservedGeneration: gen}, now)
		log.Warn("reconcile failed; retrying with backoff", "result", result, "err", reason, "retry_in", delay.Round(time.Millisecond), "failures", hs.Failures)
		d.q.AddAfter(name, delay)
	}
	d.passed[name] = true
	d.updateReadyLocked(now)
}

// recordResources keeps, per host, the state of every resource targeting it.
func (d *Daemon) recordResources(hostName string, set *manifest.Set, host *v1alpha1.Host, rep *controller.Report, result string) {
	states := map[v1alpha1.ResourceRef]v1alpha1.ResourceHostState{}
	def := v1alpha1.ResourceHostState{Host: hostName, State: "converged"}
	if result != "converged" {
		def = v1alpha1.ResourceHostState{Host: hostName, State: "unknown"}
	}
	for _, r := range set.ForHost(host) {
		states[r.Ref()] = def
	}
	if rep != nil {
		for _, p := range rep.Plans {
			for _, hp := range p.Hosts {
				for _, a := range hp.Actions {
					ref := v1alpha1.ParseRef(a.Resource)
					switch a.Status {
					case controller.StatusFailed:
						states[ref] = v1alpha1.ResourceHostState{Host: hostName, State: "failed", Message: a.Error}
					case controller.StatusSkipped, controller.StatusPlanned:
						if states[ref].State != "failed" {
							states[ref] = v1alpha1.ResourceHostState{Host: hostName, State: "pending", Message: a.Error}
						}
					}
				}
			}
		}
		for _, u := range rep.Unconverged {
			_, id, _ := strings.Cut(u, ": ")
			states[v1alpha1.ParseRef(id)] = v1alpha1.ResourceHostState{Host: hostName, State: "pending", Message: "kept changing"}
		}
	}
	d.resOnHost[hostName] = states
}

// backoff doubles from initial per failure up to max, with ±10% jitter so
// hosts that failed together do not retry together.
func backoff(initial, max time.Duration, failures int) time.Duration {
	d := initial
	for i := 1; i < failures && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	jitter := time.Duration((rand.Float64()*0.2 - 0.1) * float64(d))
	return d + jitter
}
