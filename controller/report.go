package controller

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// HostState is how a host ended a run.
type HostState string

// Host states in a report.
const (
	// HostConverged: nothing left to do.
	HostConverged HostState = "converged"
	// HostDiffers: diff mode found actions to take.
	HostDiffers HostState = "differs"
	// HostFailed: the host was quarantined (connection or action failed).
	HostFailed HostState = "failed"
	// HostUnconverged: still had actions when the cycles ran out or the run stopped.
	HostUnconverged HostState = "unconverged"
	// HostUntouched: had actions, but the rollout stopped before its batch
	// acted on it.
	HostUntouched HostState = "untouched"
	// HostInterrupted: the run was interrupted (a signal) before the host
	// was observed, or while it still had actions to run. Never converged.
	HostInterrupted HostState = "interrupted"
)

// ActionStatus is what became of a planned action.
type ActionStatus string

// Action statuses.
const (
	StatusPlanned ActionStatus = "planned"
	StatusOK      ActionStatus = "ok"
	StatusFailed  ActionStatus = "failed"
	StatusSkipped ActionStatus = "skipped"
	// StatusNotRun: planned, but the run was interrupted (or the host's
	// act deadline passed) before the action started.
	StatusNotRun ActionStatus = "not run"
	// StatusUnknown: sent, but the connection was lost before its result
	// came back: it may or may not have run. The host is observed again
	// (see UnconfirmedError), which tells what is left to do.
	StatusUnknown ActionStatus = "unknown"
)

// HostResource names one resource on one host.
type HostResource struct {
	Host string
	Ref  v1alpha1.ResourceRef
}

func (h HostResource) String() string { return h.Host + ": " + h.Ref.String() }

// MarshalText writes "host: Kind/name".
func (h HostResource) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// Plan is what one cycle found to do, host by host.
type Plan struct {
	Cycle int        `json:"cycle"`
	Hosts []HostPlan `json:"hosts"`
}

// HostPlan is one host's part of a plan.
type HostPlan struct {
	Host string `json:"host"`
	// Batch is the host's rollout batch, from 1; 0 without a rollout.
	Batch   int             `json:"batch,omitempty"`
	Actions []PlannedAction `json:"actions"`
}

// PlannedAction is an action with the resource it belongs to and, once the
// act phase ran, its outcome.
type PlannedAction struct {
	Resource v1alpha1.ResourceRef `json:"resource"`
	reconcilers.Action
	Status ActionStatus `json:"status"`
	// Err is why the action failed or was skipped, nil otherwise. Its text
	// may hold a secret the host echoed: show ErrorText instead.
	Err error `json:"-"`
	// Pruned: the action removes a resource that left the manifests.
	Pruned bool `json:"-"`
	// refresh: the action came from the kind's Refresher (a restart).
	refresh bool
	// combine and items are what the kind's Combiner said about the action.
	combine string
	items   []string
	red     *redactor
}

// PlanError is a resource that could not be planned: its reconciler
// returned an error (a File whose path is a directory, a secret that cannot
// be read). The resource fails; the rest of its host goes on.
type PlanError struct {
	Resource v1alpha1.ResourceRef
	Err      error
}

func (e *PlanError) Error() string { return "plan " + e.Resource.String() + ": " + e.Err.Error() }
func (e *PlanError) Unwrap() error { return e.Err }

// ErrorText is Err's message with every secret of the run scrubbed; empty
// when the action did not fail.
func (pa PlannedAction) ErrorText() string { return pa.red.text(pa.Err) }

// CauseText is, for an action whose result a lost connection took
// (StatusUnknown), the connection's failure, scrubbed; empty otherwise.
func (pa PlannedAction) CauseText() string {
	var ue *UnconfirmedError
	if !errors.As(pa.Err, &ue) || ue.Cause == nil {
		return ""
	}
	return pa.red.text(ue.Cause)
}

// MarshalJSON writes the resource as "Kind/name", as the plan shows it.
func (pa PlannedAction) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Resource string `json:"resource"`
		reconcilers.Action
		Status ActionStatus `json:"status"`
		Pruned bool         `json:"pruned,omitempty"`
		Error  string       `json:"error,omitempty"`
	}{pa.Resource.String(), pa.Action, pa.Status, pa.Pruned, pa.ErrorText()})
}

// Empty reports whether no host has anything to do.
func (p *Plan) Empty() bool { return p.Count() == 0 }

// Pending is the number of actions still to run: not failed or skipped
// already while planning.
func (p *Plan) Pending() int {
	n := 0
	for _, h := range p.Hosts {
		for _, a := range h.Actions {
			if a.Status == StatusPlanned {
				n++
			}
		}
	}
	return n
}

// Count is the number of actions over all hosts.
func (p *Plan) Count() int {
	n := 0
	for _, h := range p.Hosts {
		n += len(h.Actions)
	}
	return n
}

// Report is the outcome of a run.
type Report struct {
	// Cycles is the number of observe phases run.
	Cycles int `json:"cycles"`
	// Converged is true when every healthy host ended with nothing to do.
	Converged bool `json:"converged"`
	// Interrupted is true when the run was cancelled (Ctrl-C).
	Interrupted bool `json:"interrupted,omitempty"`
	// Declined is true when the user answered no to the plan.
	Declined bool `json:"declined,omitempty"`
	// Plans holds every cycle's plan that had actions, with outcomes.
	Plans []*Plan `json:"plans"`
	// Hosts summarises each host, sorted by name (by batch, then name, in
	// a rollout).
	Hosts []HostReport `json:"hosts"`
	// Rollout is what each batch did; nil without a rollout.
	Rollout *RolloutReport `json:"rollout,omitempty"`
	// Prune lists, per host, what left the manifests since the set's last
	// act on it: pruned, forgotten, or (without Inventory.Prune) to be.
	Prune []PruneNote `json:"prune,omitempty"`
	// Notes are what the latest plan of each host noted but cannot change
	// (reconcilers.OpNote): not actions, not drift.
	Notes []Note `json:"notes,omitempty"`
	// Unconverged names the resources that kept changing.
	Unconverged []HostResource `json:"unconverged,omitempty"`
	// Duration of the whole run.
	Duration time.Duration `json:"durationNs"`
}

// Note is a difference the plan reports that no action can remove on the
// host, such as a live value the host withholds.
type Note struct {
	Host     string               `json:"host"`
	Resource v1alpha1.ResourceRef `json:"resource"`
	Text     string               `json:"text"`
}

// HostReport summarises one host.
type HostReport struct {
	Host  string    `json:"host"`
	State HostState `json:"state"`
	// Batch is the host's rollout batch, from 1; 0 without a rollout.
	Batch   int `json:"batch,omitempty"`
	Changed int `json:"changed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	// NotRun counts the planned actions that never started because the run
	// was interrupted or the host's act deadline passed.
	NotRun int `json:"notRun,omitempty"`
	// Unknown counts the actions whose result a lost connection took and
	// that observing the host again could not settle (the host was not
	// regained, or the run ended first).
	Unknown int `json:"unknown,omitempty"`
	// Confirmed counts the actions whose result a lost connection took and
	// that observing the host again found done; they count in Changed too.
	Confirmed int `json:"confirmed,omitempty"`
	// Err is why the host was quarantined (State HostFailed) or interrupted
	// (State HostInterrupted), wrapped with
	// its context: a *transport.ConnectError when the host could not be
	// reached or kept, an *ActionError when an action failed. Show Reason,
	// which scrubs secrets, rather than Err's text.
	Err error `json:"-"`
	// RoundTrips is the number of batches sent to the host.
	RoundTrips int `json:"roundTrips"`
	// Connects is the number of connections opened to the host.
	Connects int `json:"connects"`
	red      *redactor
}

// Reason is Err's message with every secret of the run scrubbed.
func (h HostReport) Reason() string { return h.red.text(h.Err) }

// MarshalJSON adds the reason, scrubbed.
func (h HostReport) MarshalJSON() ([]byte, error) {
	type plain HostReport
	return json.Marshal(struct {
		plain
		Reason string `json:"reason,omitempty"`
	}{plain(h), h.Reason()})
}

// Failed lists hosts that were quarantined.
func (r *Report) Failed() []HostReport {
	var out []HostReport
	for _, h := range r.Hosts {
		if h.State == HostFailed {
			out = append(out, h)
		}
	}
	return out
}
