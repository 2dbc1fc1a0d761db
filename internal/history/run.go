package history

import (
	"slices"
	"time"
)

// Commands a run can come from.
const (
	CommandApply      = "apply"
	CommandDiff       = "diff"
	CommandController = "controller"
)

// Outcomes of a run, as listed by optimus history.
const (
	OutcomeConverged     = "converged"
	OutcomeHostsFailed   = "hosts failed"
	OutcomeUnconverged   = "unconverged"
	OutcomeInterrupted   = "interrupted"
	OutcomeDeclined      = "declined"
	OutcomeDifferences   = "differences"
	OutcomeNoDifferences = "no differences"
	OutcomeCannotTell    = "cannot tell"
	// OutcomeIncomplete is a run that started and never finished: the
	// process was killed, or recording its end failed.
	OutcomeIncomplete = "incomplete"
	// OutcomeError is a run that stopped on an error before any host was
	// changed (a plan that needed confirmation without a terminal).
	OutcomeError = "error"
)

// Host states, as the engine reports them.
const (
	StateConverged   = "converged"
	StateDiffers     = "differs"
	StateFailed      = "failed"
	StateUnconverged = "unconverged"
	// StateUntouched: the failure budget stopped the rollout before the
	// host's batch acted on it.
	StateUntouched = "untouched"
	// StateInterrupted: the run was interrupted before the host was
	// observed, or while it still had actions to run.
	StateInterrupted = "interrupted"
)

// Run is one recorded run.
type Run struct {
	ID      int64  `json:"id"`
	Command string `json:"command"`
	// Who is user@machine.
	Who   string    `json:"who"`
	Start time.Time `json:"start"`
	// End is zero for a run that never finished.
	End time.Time `json:"end,omitzero"`
	// Digest identifies the manifest set (see Digest).
	Digest string `json:"manifestsDigest"`
	// Manifests are the paths given with -f.
	Manifests []string `json:"manifests"`
	Outcome   string   `json:"outcome"`
	ExitCode  int      `json:"exitCode"`
	Cycles    int      `json:"cycles"`
	Hosts     []Host   `json:"hosts"`
}

// Host is one host's part of a run.
type Host struct {
	Name       string `json:"host"`
	State      string `json:"state"`
	Reason     string `json:"reason,omitempty"`
	Changed    int    `json:"changed"`
	Failed     int    `json:"failed"`
	Skipped    int    `json:"skipped"`
	RoundTrips int    `json:"roundTrips"`
	Connects   int    `json:"connects"`
	// Duration is the host's own time where it is known (a controller
	// reconcile works on one host), zero otherwise.
	Duration time.Duration `json:"durationNs,omitempty"`
	Actions  []Action      `json:"actions,omitempty"`
	// Resources are the resources that target the host, for reports that
	// list every resource; they are not stored.
	Resources []string `json:"-"`
}

// Action is one planned or performed action, in the words apply printed.
type Action struct {
	Cycle       int    `json:"cycle"`
	Resource    string `json:"resource"`
	Op          string `json:"op"`
	Description string `json:"description"`
	Status      string `json:"status"`
	Error       string `json:"error,omitempty"`
	// Lines are the change lines under the action: "field: before -> after"
	// and diff lines, redacted as on screen.
	Lines []string `json:"lines,omitempty"`
}

// Finished reports whether the run recorded its end.
func (r *Run) Finished() bool { return !r.End.IsZero() }

// Duration of the run; zero when it never finished.
func (r *Run) Duration() time.Duration {
	if !r.Finished() {
		return 0
	}
	return r.End.Sub(r.Start)
}

// NotConverged names the hosts that failed, were unreachable, did not
// converge, were left untouched by a stopped rollout, or were interrupted,
// in name order.
func (r *Run) NotConverged() []string {
	var out []string
	for _, h := range r.Hosts {
		if h.State == StateFailed || h.State == StateUnconverged || h.State == StateUntouched || h.State == StateInterrupted {
			out = append(out, h.Name)
		}
	}
	slices.Sort(out)
	return out
}

// Host returns the named host's part, or nil.
func (r *Run) Host(name string) *Host {
	for i := range r.Hosts {
		if r.Hosts[i].Name == name {
			return &r.Hosts[i]
		}
	}
	return nil
}
