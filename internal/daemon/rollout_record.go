package daemon

import (
	"fmt"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/manifest"
)

// fleetRecord is the fleet's rollout state as it is stored: in the state
// directory for one controller, in etcd for replicas. Everything a
// controller needs to go on after a restart or a takeover is here or in
// the outcome records; nothing about a rollout lives only in memory.
type fleetRecord struct {
	// Current is the manifests digest the fleet follows: hosts not held
	// back by a rollout are reconciled to it.
	Current string `json:"current"`
	// Seq counts rollouts, so that an outcome recorded for an earlier
	// rollout of the same manifests never counts for a later one.
	Seq     int64          `json:"seq"`
	Rollout *rolloutRecord `json:"rollout,omitempty"`
}

// rolloutRecord is one rollout: who is in which batch, how far it went,
// and what each member not yet rolled is kept on. A member's state is
// derived: pending while its batch is after Batch, admitted once it is
// reached, done or failed once its owner recorded an outcome.
type rolloutRecord struct {
	Seq      int64      `json:"seq"`
	Gen      string     `json:"generation"`
	Previous string     `json:"previous"`
	Batches  [][]string `json:"batches"`
	// Batch is the batch admitted last, from 0.
	Batch int    `json:"batch"`
	Phase string `json:"phase"`
	// Held is what each member had before: the digest of the manifests it
	// is kept on until its batch, and its generation in them.
	Held     map[string]heldRecord `json:"held"`
	MaxFail  string                `json:"maxFail,omitempty"`
	Pause    time.Duration         `json:"pause,omitempty"`
	Forgiven int                   `json:"forgiven,omitempty"`
	Started  time.Time             `json:"started"`
	// PauseUntil is when the next batch starts, while Paused: any replica
	// (or the controller after a restart) starts it then.
	PauseUntil *time.Time `json:"pauseUntil,omitempty"`
}

type heldRecord struct {
	Digest     string `json:"digest"`
	Generation string `json:"generation"`
}

// outcomeRecord is what a member's reconcile on the rollout's generation
// came to, written by the host's owner (under its fencing guard).
type outcomeRecord struct {
	Seq     int64                    `json:"seq"`
	Done    bool                     `json:"done"`
	Failure *v1alpha1.RolloutFailure `json:"failure,omitempty"`
	At      time.Time                `json:"at"`
}

type memberState int

const (
	memberPending  memberState = iota // kept on the previous generation
	memberAdmitted                    // its batch started; outcome not known yet
	memberDone                        // converged on the new generation, checks passed
	memberFailed                      // failed, unreachable, or its checks did not pass
)

// states derives each member's state from the batch reached and the
// outcomes recorded for this rollout.
func (rr *rolloutRecord) states(outcomes map[string]outcomeRecord) map[string]memberState {
	st := make(map[string]memberState, len(rr.Held))
	for i, batch := range rr.Batches {
		for _, n := range batch {
			switch o, ok := outcomes[n]; {
			case i > rr.Batch:
				st[n] = memberPending
			case !ok || o.Seq != rr.Seq:
				st[n] = memberAdmitted
			case o.Done:
				st[n] = memberDone
			default:
				st[n] = memberFailed
			}
		}
	}
	return st
}

func countState(st map[string]memberState, s memberState) int {
	n := 0
	for _, v := range st {
		if v == s {
			n++
		}
	}
	return n
}

func (rr *rolloutRecord) sizes() *controller.Rollout {
	ro := &controller.Rollout{}
	// Both were checked when the rollout was made.
	ro.MaxFail, _ = controller.ParseSize(rr.MaxFail)
	return ro
}

// advance moves the rollout on, as far as the outcomes allow at now: it
// halts when the budget is spent, completes after the last batch, pauses
// between batches, and admits the next batch. It reports whether it
// changed anything; the caller stores the result.
func (rr *rolloutRecord) advance(outcomes map[string]outcomeRecord, now time.Time) bool {
	changed := false
	for {
		switch rr.Phase {
		case v1alpha1.RolloutPaused:
			if rr.PauseUntil != nil && now.Before(*rr.PauseUntil) {
				return changed
			}
			rr.Phase, rr.PauseUntil, rr.Batch = v1alpha1.RolloutProgressing, nil, rr.Batch+1
			changed = true
			continue
		case v1alpha1.RolloutProgressing:
		default:
			return changed
		}
		st := rr.states(outcomes)
		if rr.sizes().Exceeded(countState(st, memberFailed)-rr.Forgiven, len(rr.Held)) {
			rr.Phase = v1alpha1.RolloutHalted
			return true
		}
		for _, n := range rr.Batches[rr.Batch] {
			if st[n] == memberAdmitted {
				return changed
			}
		}
		if rr.Batch == len(rr.Batches)-1 {
			rr.Phase = v1alpha1.RolloutComplete
			return true
		}
		if rr.Pause > 0 {
			until := now.Add(rr.Pause)
			rr.Phase, rr.PauseUntil = v1alpha1.RolloutPaused, &until
			return true
		}
		rr.Batch++
		changed = true
	}
}

// resume continues a halted or aborted rollout, accepting its failures so
// far.
func (rr *rolloutRecord) resume(outcomes map[string]outcomeRecord, now time.Time) error {
	if rr.Phase != v1alpha1.RolloutHalted && rr.Phase != v1alpha1.RolloutAborted {
		return fmt.Errorf("%w that is halted or aborted (rollout %s is %s)", ErrNoRollout, rr.Gen, rr.Phase)
	}
	rr.Forgiven = countState(rr.states(outcomes), memberFailed)
	rr.Phase = v1alpha1.RolloutProgressing
	rr.advance(outcomes, now)
	return nil
}

// abort starts no new batch.
func (rr *rolloutRecord) abort() error {
	if rr.Phase == v1alpha1.RolloutComplete || rr.Phase == v1alpha1.RolloutAborted {
		return ErrNoRollout
	}
	rr.Phase, rr.PauseUntil = v1alpha1.RolloutAborted, nil
	return nil
}

// keptOn says what a host follows under the record: the digest of the
// manifests it is held to while it waits for its batch, or the fleet's
// current ones.
func (fr *fleetRecord) keptOn(name string, outcomes map[string]outcomeRecord) (heldRecord, bool) {
	if fr == nil || fr.Rollout == nil {
		return heldRecord{}, false
	}
	rr := fr.Rollout
	h, member := rr.Held[name]
	if !member {
		return heldRecord{}, false
	}
	for i, batch := range rr.Batches {
		for _, n := range batch {
			if n == name {
				return h, i > rr.Batch
			}
		}
	}
	return heldRecord{}, false
}

// nextRecord is the record after the fleet moves to new manifests (digest,
// desired): a new rollout of the hosts whose generation differs from what
// they are kept on now, or none without a policy or a changed host. old
// says what a host is kept on now: its digest and desired state, nil for a
// host new to the manifests.
func nextRecord(prev *fleetRecord, set *manifest.Set, digest string, hosts []*v1alpha1.Host, desired map[string]*desiredHost,
	old func(name string) (heldRecord, bool), now time.Time) (*fleetRecord, error) {
	next := &fleetRecord{Current: digest}
	if prev != nil {
		next.Seq = prev.Seq
	}
	if set.Policy == nil || prev == nil {
		return next, nil
	}
	spec := set.Policy.Spec.(*v1alpha1.RolloutPolicySpec)
	sizes, err := controller.ParseBatches(spec.Batches)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): spec.batches: %w", set.Policy.ID(), set.Policy.Origin, err)
	}
	if spec.MaxFail != "" {
		if _, err := controller.ParseSize(spec.MaxFail); err != nil {
			return nil, fmt.Errorf("%s (%s): spec.maxFail: %w", set.Policy.ID(), set.Policy.Origin, err)
		}
	}
	rr := &rolloutRecord{Seq: prev.Seq + 1, Gen: setGeneration(desired), Phase: v1alpha1.RolloutProgressing,
		Held: map[string]heldRecord{}, MaxFail: spec.MaxFail, Started: now}
	if spec.Pause != nil {
		rr.Pause = spec.Pause.Duration
	}
	var order []string
	prevGens := map[string]string{}
	for _, h := range hosts {
		name := h.Metadata.Name
		was, ok := old(name)
		// A new host has nothing to keep: it gets the manifests at once.
		if ok {
			prevGens[name] = was.Generation
		}
		if !ok || was.Generation == desired[name].generation {
			continue
		}
		order = append(order, name)
		rr.Held[name] = was
	}
	rr.Previous = setGenerationOf(prevGens)
	if len(order) == 0 {
		return next, nil
	}
	at := 0
	for _, n := range (&controller.Rollout{Batches: sizes}).Split(len(order)) {
		rr.Batches = append(rr.Batches, order[at:at+n])
		at += n
	}
	next.Seq, next.Rollout = rr.Seq, rr
	return next, nil
}
