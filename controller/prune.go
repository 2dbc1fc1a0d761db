package controller

import (
	"context"
	"encoding/json"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// PruneNote is one resource a host's inventory lists that the manifests no
// longer declare for it.
type PruneNote struct {
	Host     string               `json:"host"`
	Resource v1alpha1.ResourceRef `json:"resource"`
	// Forget: the resource is left on the host and only dropped from the
	// inventory; Reason says why. Otherwise it is removed through its
	// kind's absent state.
	Forget bool   `json:"forget,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Planned: pruning was asked for (Inventory.Prune), so the removal or
	// forgetting is in the plan; otherwise the note only lists it.
	Planned bool `json:"planned"`
	// Done: the removal or forgetting succeeded in this run.
	Done bool `json:"done,omitempty"`
	// Deferred: the removal could not be planned before the resources
	// removed ahead of it are gone; it is planned in the next cycle.
	Deferred bool `json:"deferred,omitempty"`
}

// Why a resource that left the manifests is forgotten rather than removed.
const (
	ReasonAdopted   = "it existed before Optimus first managed it"
	ReasonNoAbsent  = "its kind has no absent state"
	ReasonTakenOver = "another resource of the manifests manages it now"
)

// identities are the keys under which a recorded spec names what it
// manages on the host: its path or its name, per kind.
func identities(kind string, spec json.RawMessage) []string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(spec, &fields) != nil {
		return nil
	}
	var out []string
	for _, k := range []string{"path", "name"} {
		var v string
		if json.Unmarshal(fields[k], &v) == nil && v != "" {
			out = append(out, kind+"\x00"+k+"\x00"+v)
		}
	}
	return out
}

// planPrune plans, before the host's other actions, what its inventory
// lists and the manifests no longer declare: in reverse dependency order,
// each removed through its kind's absent state or forgotten. Their
// observation costs a second round trip, only when there is something to
// remove.
func (e *Engine) planPrune(ctx context.Context, r *hostRun, red *redactor) {
	current := make(map[v1alpha1.ResourceRef]bool, len(r.resources))
	for _, res := range r.resources {
		current[res.Ref()] = true
	}
	// What the current resources manage, by kind and identity (path or
	// name): a resource renamed in the manifests is not removed. Computed
	// only when an entry has left the manifests: encoding every spec on
	// every pass would cost a no-op run more than its planning.
	var taken map[string]bool
	isTaken := func(id string) bool {
		if taken == nil {
			taken = map[string]bool{}
			for _, res := range r.resources {
				if spec, ok := recordSpec(res); ok {
					for _, id := range identities(res.Kind, spec) {
						taken[id] = true
					}
				}
			}
		}
		return taken[id]
	}
	var notes []PruneNote
	var absent []*v1alpha1.Resource
	for i := len(r.inv.file.entries) - 1; i >= 0; i-- {
		en := r.inv.file.entries[i]
		if current[en.Ref] {
			continue
		}
		n := PruneNote{Host: r.host.Metadata.Name, Resource: en.Ref, Planned: r.inv.Prune}
		var res *v1alpha1.Resource
		ok := false
		if _, known := e.Registry.For(en.Ref.Kind); known && r.inv.Absent != nil {
			res, ok = r.inv.Absent(en.Ref.Kind, en.Ref.Name, en.Spec)
		}
		owned := false
		for _, id := range identities(en.Ref.Kind, en.Spec) {
			owned = owned || isTaken(id)
		}
		switch {
		case owned:
			n.Forget, n.Reason = true, ReasonTakenOver
		case !ok:
			n.Forget, n.Reason = true, ReasonNoAbsent
		case en.Adopted:
			n.Forget, n.Reason = true, ReasonAdopted
		default:
			absent = append(absent, res)
		}
		notes = append(notes, n)
	}
	r.inv.notes = mergeNotes(r.inv.notes, notes)
	if !r.inv.Prune || len(notes) == 0 {
		return
	}

	facts := reconcilers.NewFacts(nil)
	if len(absent) > 0 {
		queries, keys, kindErr := e.queries(r.host, absent)
		if len(queries) > 0 {
			got, err := e.query(ctx, r, queries)
			if err != nil {
				return
			}
			for i, k := range keys {
				facts.Add(k.scope, k.key, got[i])
			}
		}
		for k, err := range kindErr {
			for _, res := range absent {
				if res.Kind == k {
					r.failPlan(res.Ref(), err, red)
				}
			}
		}
	}
	byRef := map[v1alpha1.ResourceRef]*v1alpha1.Resource{}
	for _, res := range absent {
		byRef[res.Ref()] = res
	}
	var plan []PlannedAction
	var deferred []*PlanError
	removing := false
	for _, n := range notes {
		if n.Forget {
			plan = append(plan, PlannedAction{Resource: n.Resource, Status: StatusPlanned, red: red, Action: reconcilers.Action{
				Op: OpForget, Description: "forget, keep on the host: " + n.Reason,
				Script: removeLine(r.inv.path, "resource", n.Resource)}})
			continue
		}
		res := byRef[n.Resource]
		rec, _ := e.Registry.For(res.Kind)
		actions, err := rec.Plan(ctx, reconcilers.Request{Host: r.host, Resource: res, Facts: facts.For(res.Kind)})
		// A note says what pruning cannot change; the removal goes on.
		actions, _ = reconcilers.SplitNotes(actions)
		if err != nil {
			deferred = append(deferred, &PlanError{Resource: res.Ref(), Err: err})
			continue
		}
		removing = removing || len(actions) > 0
		for _, a := range actions {
			red.add(a.Secrets...)
			plan = append(plan, PlannedAction{Resource: n.Resource, Action: a, Status: StatusPlanned, Pruned: true, red: red})
		}
		if len(actions) == 0 {
			// Already gone: only the inventory line is left to drop.
			plan = append(plan, PlannedAction{Resource: n.Resource, Status: StatusPlanned, Pruned: true, red: red, Action: reconcilers.Action{
				Op: OpForget, Description: "forget: already absent from the host",
				Script: removeLine(r.inv.path, "resource", n.Resource)}})
		}
	}
	// A resource removed after others may refuse while they are still
	// there (a directory that still holds a pruned file): it waits for the
	// next cycle, when they are gone. Alone, its error is the host's.
	for _, perr := range deferred {
		if removing {
			r.noteDeferred(perr.Resource)
			continue
		}
		r.failPlan(perr.Resource, perr.Err, red)
	}
	r.plan = append(plan, r.plan...)
}

// noteDeferred marks a resource whose removal waits for the next cycle.
func (r *hostRun) noteDeferred(ref v1alpha1.ResourceRef) {
	for i := range r.inv.notes {
		if r.inv.notes[i].Resource == ref {
			r.inv.notes[i].Deferred = true
		}
	}
}

// failPlan records a pruned resource that could not be planned.
func (r *hostRun) failPlan(ref v1alpha1.ResourceRef, err error, red *redactor) {
	for _, pa := range r.plan {
		if pa.Resource == ref && pa.Status == StatusFailed {
			return
		}
	}
	perr := &PlanError{Resource: ref, Err: err}
	r.failed++
	r.plan = append(r.plan, PlannedAction{Resource: ref, Action: reconcilers.Action{Description: "plan"},
		Status: StatusFailed, Err: perr, red: red})
	if r.planErr == nil {
		r.planErr = perr
	}
}

// mergeNotes keeps the notes of earlier cycles (what was pruned stays in
// the report) and adds new ones.
func mergeNotes(old, fresh []PruneNote) []PruneNote {
	seen := map[v1alpha1.ResourceRef]bool{}
	for _, n := range old {
		seen[n.Resource] = true
	}
	for _, n := range fresh {
		if !seen[n.Resource] {
			old = append(old, n)
		}
	}
	return old
}

// notePruned marks the notes whose every action of this batch succeeded.
func (r *hostRun) notePruned() {
	ok := map[v1alpha1.ResourceRef]bool{}
	bad := map[v1alpha1.ResourceRef]bool{}
	for _, pa := range r.plan {
		if pa.Pruned || pa.Op == OpForget {
			if pa.Status == StatusOK {
				ok[pa.Resource] = true
			} else {
				bad[pa.Resource] = true
			}
		}
	}
	for i := range r.inv.notes {
		if ok[r.inv.notes[i].Resource] && !bad[r.inv.notes[i].Resource] {
			r.inv.notes[i].Done = true
		}
	}
}
