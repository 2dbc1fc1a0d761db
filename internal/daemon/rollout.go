package daemon

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/status"
)

// rollout is the daemon's view of the fleet's rollout: the stored record
// and outcomes, each member's state derived from them, and the desired
// state each member not yet rolled is kept on (from the snapshot of the
// manifests it had). It is rebuilt whenever the stored state changes and
// never modified in place. Guarded by Daemon.mu.
type rollout struct {
	rec      *rolloutRecord
	gen      string
	state    map[string]memberState
	prev     map[string]*desiredHost // what each pending member is kept on; nil: its snapshot is unavailable
	failures map[string]v1alpha1.RolloutFailure
}

// newView derives the view of rr; keptOn resolves a held member's desired
// state.
func newView(rr *rolloutRecord, outcomes map[string]outcomeRecord, keptOn func(name string, h heldRecord) *desiredHost) *rollout {
	if rr == nil {
		return nil
	}
	ro := &rollout{rec: rr, gen: rr.Gen, state: rr.states(outcomes), prev: map[string]*desiredHost{}, failures: map[string]v1alpha1.RolloutFailure{}}
	for name, s := range ro.state {
		switch s {
		case memberPending:
			ro.prev[name] = keptOn(name, rr.Held[name])
		case memberFailed:
			if f := outcomes[name].Failure; f != nil {
				ro.failures[name] = *f
			}
		}
	}
	return ro
}

// held returns the desired state a host is kept on while it waits for its
// batch, nil when it follows the current manifests. pending is true for a
// member waiting for its batch even when its desired state could not be
// restored: such a host must not be reconciled at all.
func (ro *rollout) held(name string) (want *desiredHost, pending bool) {
	if ro == nil || ro.state[name] != memberPending {
		return nil, false
	}
	return ro.prev[name], true
}

func (ro *rollout) stateOf(name string) (memberState, bool) {
	if ro == nil {
		return 0, false
	}
	s, ok := ro.state[name]
	return s, ok
}

func (ro *rollout) count(s memberState) int { return countState(ro.state, s) }

// setGeneration identifies a manifest set by the generations of its hosts.
func setGeneration(desired map[string]*desiredHost) string {
	gens := make(map[string]string, len(desired))
	for n, d := range desired {
		gens[n] = d.generation
	}
	return setGenerationOf(gens)
}

func setGenerationOf(gens map[string]string) string {
	names := make([]string, 0, len(gens))
	for n := range gens {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s=%s\n", n, gens[n])
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
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

// hostConditionsLocked sets the Rollout condition of each host whose part
// in the rollout changed from was to ro.
func (d *Daemon) hostConditionsLocked(was, ro *rollout, now time.Time) {
	if was != nil {
		for name := range was.state {
			if _, member := ro.stateOf(name); !member {
				d.setHostRollout(name, v1alpha1.ConditionTrue, "Current", "follows the current manifests", now)
			}
		}
	}
	if ro == nil {
		return
	}
	rr := ro.rec
	halted := rr.Phase == v1alpha1.RolloutHalted
	wasHalted := was != nil && was.rec.Phase == v1alpha1.RolloutHalted && was.rec.Seq == rr.Seq
	for name, s := range ro.state {
		if was != nil && was.rec.Seq == rr.Seq && halted == wasHalted {
			if old, ok := was.state[name]; ok && old == s {
				continue
			}
		}
		switch s {
		case memberPending:
			d.setHostRollout(name, v1alpha1.ConditionFalse, "RolloutPending",
				fmt.Sprintf("kept on its previous generation %s until its batch of rollout %s", rr.Held[name].Generation, rr.Gen), now)
		case memberAdmitted:
			d.setHostRollout(name, v1alpha1.ConditionFalse, "RolloutProgressing",
				fmt.Sprintf("in batch %d of %d of rollout %s", rr.Batch+1, len(rr.Batches), rr.Gen), now)
		case memberDone:
			d.setHostRollout(name, v1alpha1.ConditionTrue, "RolloutDone", "on the generation of rollout "+rr.Gen, now)
		case memberFailed:
			if halted {
				d.setHostRollout(name, v1alpha1.ConditionFalse, "RolloutHalted", failureText(ro.failures[name]), now)
			} else {
				d.setHostRollout(name, v1alpha1.ConditionFalse, "RolloutFailed", ro.failures[name].Reason, now)
			}
		}
	}
}

// rolloutChangedLocked publishes the rollout's phase as the controller's
// Rollout condition and in the metrics.
func (d *Daemon) rolloutChangedLocked(now time.Time) {
	ro := d.ro
	for _, p := range []string{v1alpha1.RolloutProgressing, v1alpha1.RolloutPaused, v1alpha1.RolloutHalted, v1alpha1.RolloutComplete, v1alpha1.RolloutAborted} {
		v := 0.0
		if ro != nil && ro.rec.Phase == p {
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
	d.m.rolloutBatch.Set(float64(ro.rec.Batch + 1))
	d.m.rolloutHosts.WithLabelValues("done").Set(float64(ro.count(memberDone)))
	d.m.rolloutHosts.WithLabelValues("failed").Set(float64(ro.count(memberFailed)))
	d.m.rolloutHosts.WithLabelValues("pending").Set(float64(ro.count(memberPending)))
	st := ro.statusLocked()
	c := v1alpha1.Condition{Type: v1alpha1.ConditionRollout, Status: v1alpha1.ConditionFalse, Reason: "Rollout" + ro.rec.Phase, Message: st.Message}
	if ro.rec.Phase == v1alpha1.RolloutComplete {
		c.Status = v1alpha1.ConditionTrue
	}
	d.status.SetCondition(c, now)
}

// statusLocked is the rollout as the API serves it.
func (ro *rollout) statusLocked() *v1alpha1.RolloutStatus {
	rr := ro.rec
	st := &v1alpha1.RolloutStatus{Generation: rr.Gen, Previous: rr.Previous, Phase: rr.Phase, Batch: rr.Batch + 1, Batches: len(rr.Batches),
		Hosts: rr.Batches, Done: ro.count(memberDone), Failed: ro.count(memberFailed), Pending: ro.count(memberPending),
		Budget: rr.sizes().MaxFail.String(), StartedAt: rr.Started}
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
		rr.Gen, st.Batch, st.Batches, st.Done, st.Failed, st.Budget, st.Pending, rr.Previous)
	if rr.Phase == v1alpha1.RolloutHalted {
		st.Message = fmt.Sprintf("rollout %s halted: %d of %d hosts failed (budget %s); %d kept on %s; %s",
			rr.Gen, st.Failed, len(rr.Held), st.Budget, st.Pending, rr.Previous, strings.Join(parts, "; "))
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
