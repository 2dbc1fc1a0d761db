package engine

import "time"

// Phases reported to Engine.OnHostPhase.
const (
	PhaseObserve = "observe"
	PhaseAct     = "act"
)

// HostPhase tells a progress display that a host started or ended a phase.
type HostPhase struct {
	Host  string
	Phase string // PhaseObserve or PhaseAct
	// Done is false at the start of the phase, true at its end.
	Done bool
	// Failed is true at the end of a phase that quarantined the host.
	Failed bool
	// Planned counts the actions the host has after observing.
	Planned int
	At      time.Time
}

// phase runs fn, telling OnHostPhase when it starts and ends.
func (e *Engine) phase(r *hostRun, phase string, fn func()) {
	if e.OnHostPhase == nil {
		fn()
		return
	}
	name := r.host.Metadata.Name
	e.OnHostPhase(HostPhase{Host: name, Phase: phase, At: time.Now()})
	fn()
	e.OnHostPhase(HostPhase{Host: name, Phase: phase, Done: true, Failed: r.quarantine != nil, Planned: len(r.plan), At: time.Now()})
}
