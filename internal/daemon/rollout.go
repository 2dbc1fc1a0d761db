package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/manifest"
	"github.com/optimus-cm/optimus/internal/status"
)

// rollout is a manifest change going out under the RolloutPolicy: the hosts
// it changes are admitted batch by batch; a host not yet admitted keeps,
// and is drift-corrected to, the desired state it had before. All fields
// are guarded by Daemon.mu.
type rollout struct {
	gen, prevGen string
	policy       *v1alpha1.RolloutPolicySpec
	sizes        *controller.Rollout
	batches      [][]string
	batch        int // the batch admitted last, from 0
	phase        string
	state        map[string]memberState
	prev         map[string]*desiredHost // what each member had before
	failures     map[string]v1alpha1.RolloutFailure
	forgiven     int // failures a resume accepted
	started      time.Time
	timer        *time.Timer // the pause before the next batch
	members      int
}

type memberState int

const (
	memberPending  memberState = iota // kept on the previous generation
	memberAdmitted                    // its batch started; outcome not known yet
	memberDone                        // converged on the new generation, checks passed
	memberFailed                      // failed, unreachable, or its checks did not pass
)

// held returns the desired state a host is kept on while it waits for its
// batch, nil when it follows the current manifests.
func (ro *rollout) held(name string) *desiredHost {
	if ro == nil || ro.state[name] != memberPending {
		return nil
	}
	return ro.prev[name]
}

func (ro *rollout) stateOf(name string) (memberState, bool) {
	if ro == nil {
		return 0, false
	}
	s, ok := ro.state[name]
	return s, ok
}

func (ro *rollout) count(s memberState) int {
	n := 0
	for _, st := range ro.state {
		if st == s {
			n++
		}
	}
	return n
}

// setGeneration identifies a manifest set by the generations of its hosts.
func setGeneration(desired map[string]*desiredHost) string {
	names := make([]string, 0, len(desired))
	for n := range desired {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s=%s\n", n, desired[n].generation)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// newRollout starts a rollout of desired to the hosts whose generation
// differs from what they are held to now (old's, or the previous rollout's
// held state). It returns nil when the set has no policy or no host
// changes; the policy was validated when loaded.
func newRollout(set *manifest.Set, hosts []*v1alpha1.Host, desired, old map[string]*desiredHost, prevRO *rollout, now time.Time) (*rollout, error) {
	if set.Policy == nil {
		return nil, nil
	}
	spec := set.Policy.Spec.(*v1alpha1.RolloutPolicySpec)
	sizes, err := controller.ParseBatches(spec.Batches)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): spec.batches: %w", set.Policy.ID(), set.Policy.Origin, err)
	}
	ro := &rollout{gen: setGeneration(desired), prevGen: setGeneration(old), policy: spec,
		sizes: &controller.Rollout{Batches: sizes}, phase: v1alpha1.RolloutProgressing,
		state: map[string]memberState{}, prev: map[string]*desiredHost{}, failures: map[string]v1alpha1.RolloutFailure{}, started: now}
	if spec.MaxFail != "" {
		if ro.sizes.MaxFail, err = controller.ParseSize(spec.MaxFail); err != nil {
			return nil, fmt.Errorf("%s (%s): spec.maxFail: %w", set.Policy.ID(), set.Policy.Origin, err)
		}
	}
	var order []string
	for _, h := range hosts {
		name := h.Metadata.Name
		was := prevRO.held(name)
		if was == nil {
			was = old[name]
		}
		// A new host has nothing to keep: it gets the manifests at once.
		if was == nil || was.generation == desired[name].generation {
			continue
		}
		order = append(order, name)
		ro.state[name], ro.prev[name] = memberPending, was
	}
	if len(order) == 0 {
		return nil, nil
	}
	ro.members = len(order)
	at := 0
	for _, n := range ro.sizes.Split(len(order)) {
		ro.batches = append(ro.batches, order[at:at+n])
		at += n
	}
	ro.batch = -1
	return ro, nil
}

// admitNextLocked starts the rollout's next batch and returns its hosts,
// to queue.
func (d *Daemon) admitNextLocked(ro *rollout, now time.Time) []string {
	ro.batch++
	ro.phase = v1alpha1.RolloutProgressing
	for _, n := range ro.batches[ro.batch] {
		ro.state[n] = memberAdmitted
		d.setHostRollout(n, v1alpha1.ConditionFalse, "RolloutProgressing",
			fmt.Sprintf("in batch %d of %d of rollout %s", ro.batch+1, len(ro.batches), ro.gen), now)
	}
	return ro.batches[ro.batch]
}

// startRollout installs ro (nil ends any rollout) and queues its first
// batch. Called with d.mu held.
func (d *Daemon) startRolloutLocked(ro *rollout, now time.Time) []string {
	prev := d.ro
	if prev != nil && prev.timer != nil {
		prev.timer.Stop()
	}
	d.ro = ro
	if prev != nil {
		// The hosts the last rollout held or failed that this one leaves
		// alone follow the current manifests.
		for name := range prev.state {
			if _, member := ro.stateOf(name); !member {
				d.setHostRollout(name, v1alpha1.ConditionTrue, "Current", "follows the current manifests", now)
			}
		}
	}
	if ro == nil {
		d.rolloutChangedLocked(now)
		return nil
	}
	d.log.Info("rollout started", "rollout", ro.gen, "previous", ro.prevGen, "hosts", ro.members, "batches", len(ro.batches), "budget", ro.sizes.MaxFail.String())
	for name := range ro.state {
		d.setHostRollout(name, v1alpha1.ConditionFalse, "RolloutPending",
			fmt.Sprintf("kept on its previous generation %s until its batch of rollout %s", ro.prev[name].generation, ro.gen), now)
	}
	first := d.admitNextLocked(ro, now)
	d.rolloutChangedLocked(now)
	return first
}

// rolloutOutcome records what a reconcile of a member on the rollout's
// generation came to, runs its health checks when it converged, and moves
// the rollout on.
func (d *Daemon) rolloutOutcome(ctx context.Context, ro *rollout, want *desiredHost, result string, states []status.ResourceState, reason string) {
	name := want.host.Metadata.Name
	// Only a reconcile to the rollout's own desired state counts: one that
	// started while the host was still kept on the previous generation
	// says nothing about the change.
	d.mu.Lock()
	admitted := d.ro == ro && ro.state[name] == memberAdmitted && d.desired[name] == want
	d.mu.Unlock()
	if !admitted {
		return
	}
	var fail *v1alpha1.RolloutFailure
	if result != resultConverged {
		fail = &v1alpha1.RolloutFailure{Host: name, Reason: reason}
		for _, s := range states {
			if s.State == status.StateFailed {
				fail.Resources = append(fail.Resources, s.Ref.String()+": "+s.Message)
			}
		}
	} else if err := d.healthCheck(ctx, want.host, ro.policy.HealthChecks); err != nil {
		fail = &v1alpha1.RolloutFailure{Host: name, Reason: err.Error()}
	}
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ro != ro || ro.state[name] != memberAdmitted {
		return
	}
	if fail != nil {
		ro.state[name] = memberFailed
		ro.failures[name] = *fail
		d.log.Warn("rollout: host failed", "rollout", ro.gen, "host", name, "batch", ro.batch+1, "reason", fail.Reason)
		d.setHostRollout(name, v1alpha1.ConditionFalse, "RolloutFailed", fail.Reason, now)
	} else {
		ro.state[name] = memberDone
		d.log.Info("rollout: host done", "rollout", ro.gen, "host", name, "batch", ro.batch+1)
		d.setHostRollout(name, v1alpha1.ConditionTrue, "RolloutDone", "on generation "+want.generation+" of rollout "+ro.gen, now)
	}
	for _, n := range d.advanceLocked(now) {
		d.q.Add(n, priorityChange)
	}
}

// advanceLocked halts the rollout when its budget is spent, or starts the
// next batch (after the pause) once every host of the current one is done
// or failed. It returns the hosts to queue.
func (d *Daemon) advanceLocked(now time.Time) []string {
	ro := d.ro
	defer d.rolloutChangedLocked(now)
	if ro == nil || ro.phase != v1alpha1.RolloutProgressing {
		return nil
	}
	if ro.sizes.Exceeded(ro.count(memberFailed)-ro.forgiven, ro.members) {
		ro.phase = v1alpha1.RolloutHalted
		d.log.Error("rollout halted: failure budget spent", "rollout", ro.gen, "batch", ro.batch+1,
			"failed", ro.count(memberFailed), "budget", ro.sizes.MaxFail.String(), "kept_on_previous", ro.count(memberPending))
		for name, f := range ro.failures {
			d.setHostRollout(name, v1alpha1.ConditionFalse, "RolloutHalted", failureText(f), now)
		}
		return nil
	}
	for _, n := range ro.batches[ro.batch] {
		if ro.state[n] == memberAdmitted {
			return nil
		}
	}
	if ro.batch == len(ro.batches)-1 {
		ro.phase = v1alpha1.RolloutComplete
		d.log.Info("rollout complete", "rollout", ro.gen, "done", ro.count(memberDone), "failed", ro.count(memberFailed))
		return nil
	}
	if p := ro.policy.Pause; p != nil && p.Duration > 0 {
		ro.phase = v1alpha1.RolloutPaused
		ro.timer = time.AfterFunc(p.Duration, func() {
			d.mu.Lock()
			var next []string
			if d.ro == ro && ro.phase == v1alpha1.RolloutPaused {
				next = d.admitNextLocked(ro, time.Now())
				d.log.Info("rollout: next batch", "rollout", ro.gen, "batch", ro.batch+1, "hosts", next)
				d.rolloutChangedLocked(time.Now())
			}
			d.mu.Unlock()
			for _, n := range next {
				d.q.Add(n, priorityChange)
			}
		})
		return nil
	}
	next := d.admitNextLocked(ro, now)
	d.log.Info("rollout: next batch", "rollout", ro.gen, "batch", ro.batch+1, "hosts", next)
	return next
}

func failureText(f v1alpha1.RolloutFailure) string {
	if len(f.Resources) > 0 {
		return strings.Join(f.Resources, "; ")
	}
	return f.Reason
}

// setHostRollout sets a host's Rollout condition.
func (d *Daemon) setHostRollout(name string, st v1alpha1.ConditionStatus, reason, msg string, now time.Time) {
	d.status.UpdateHost(name, now, func(h *status.Host) {
		h.Status.Conditions = v1alpha1.SetCondition(h.Status.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionRollout,
			Status: st, Reason: reason, Message: msg}, now)
	})
}

// rolloutChangedLocked publishes the rollout's phase as the controller's
// Rollout condition and in the metrics.
func (d *Daemon) rolloutChangedLocked(now time.Time) {
	ro := d.ro
	for _, p := range []string{v1alpha1.RolloutProgressing, v1alpha1.RolloutPaused, v1alpha1.RolloutHalted, v1alpha1.RolloutComplete, v1alpha1.RolloutAborted} {
		v := 0.0
		if ro != nil && ro.phase == p {
			v = 1
		}
		d.m.rolloutPhase.WithLabelValues(p).Set(v)
	}
	if ro == nil {
		d.m.rolloutBatch.Set(0)
		d.status.SetCondition(v1alpha1.Condition{Type: v1alpha1.ConditionRollout, Status: v1alpha1.ConditionTrue,
			Reason: "NoRollout", Message: "every host follows the current manifests"}, now)
		return
	}
	d.m.rolloutBatch.Set(float64(ro.batch + 1))
	d.m.rolloutHosts.WithLabelValues("done").Set(float64(ro.count(memberDone)))
	d.m.rolloutHosts.WithLabelValues("failed").Set(float64(ro.count(memberFailed)))
	d.m.rolloutHosts.WithLabelValues("pending").Set(float64(ro.count(memberPending)))
	st := ro.statusLocked()
	c := v1alpha1.Condition{Type: v1alpha1.ConditionRollout, Status: v1alpha1.ConditionFalse, Reason: "Rollout" + ro.phase, Message: st.Message}
	if ro.phase == v1alpha1.RolloutComplete {
		c.Status = v1alpha1.ConditionTrue
	}
	d.status.SetCondition(c, now)
}

// statusLocked is the rollout as the API serves it.
func (ro *rollout) statusLocked() *v1alpha1.RolloutStatus {
	st := &v1alpha1.RolloutStatus{Generation: ro.gen, Previous: ro.prevGen, Phase: ro.phase, Batch: ro.batch + 1, Batches: len(ro.batches),
		Hosts: ro.batches, Done: ro.count(memberDone), Failed: ro.count(memberFailed), Pending: ro.count(memberPending),
		Budget: ro.sizes.MaxFail.String(), StartedAt: ro.started}
	names := make([]string, 0, len(ro.failures))
	for n := range ro.failures {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		st.Failures = append(st.Failures, ro.failures[n])
		parts = append(parts, n+": "+failureText(ro.failures[n]))
	}
	st.Message = fmt.Sprintf("rollout %s: batch %d of %d, %d done, %d failed (budget %s), %d kept on %s",
		ro.gen, st.Batch, st.Batches, st.Done, st.Failed, st.Budget, st.Pending, ro.prevGen)
	if ro.phase == v1alpha1.RolloutHalted {
		st.Message = fmt.Sprintf("rollout %s halted: %d of %d hosts failed (budget %s); %d kept on %s; %s",
			ro.gen, st.Failed, ro.members, st.Budget, st.Pending, ro.prevGen, strings.Join(parts, "; "))
	}
	return st
}

// RolloutStatus returns the current rollout, nil when there is none.
func (d *Daemon) RolloutStatus() *v1alpha1.RolloutStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ro == nil {
		return nil
	}
	return d.ro.statusLocked()
}

// ErrNoRollout is returned by ResumeRollout and AbortRollout when there is
// nothing to act on.
var ErrNoRollout = fmt.Errorf("no rollout in progress")

// ResumeRollout continues a halted (or aborted) rollout with its next
// batch, accepting the failures so far.
func (d *Daemon) ResumeRollout() (*v1alpha1.RolloutStatus, error) {
	d.mu.Lock()
	ro := d.ro
	if ro == nil || (ro.phase != v1alpha1.RolloutHalted && ro.phase != v1alpha1.RolloutAborted) {
		d.mu.Unlock()
		return nil, fmt.Errorf("%w that is halted or aborted", ErrNoRollout)
	}
	ro.forgiven = ro.count(memberFailed)
	ro.phase = v1alpha1.RolloutProgressing
	d.log.Info("rollout resumed", "rollout", ro.gen, "accepted_failures", ro.forgiven)
	next := d.advanceLocked(time.Now())
	st := ro.statusLocked()
	d.mu.Unlock()
	for _, n := range next {
		d.q.Add(n, priorityChange)
	}
	return st, nil
}

// AbortRollout stops the rollout: no new batch starts; hosts not yet rolled
// stay on the previous generation until the next manifest change.
func (d *Daemon) AbortRollout() (*v1alpha1.RolloutStatus, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ro := d.ro
	if ro == nil || ro.phase == v1alpha1.RolloutComplete || ro.phase == v1alpha1.RolloutAborted {
		return nil, ErrNoRollout
	}
	if ro.timer != nil {
		ro.timer.Stop()
	}
	ro.phase = v1alpha1.RolloutAborted
	d.log.Warn("rollout aborted", "rollout", ro.gen, "kept_on_previous", ro.count(memberPending))
	d.rolloutChangedLocked(time.Now())
	return ro.statusLocked(), nil
}
