package controller

import "time"

// Observer is told what a run does as it does it: progress, plans, acts and
// rollout batches. It only watches; what decides (Engine.Confirm,
// Engine.Fence) stays on the Engine. Embed NopObserver to implement only
// what you need.
type Observer interface {
	// HostPhase is called from the host's goroutine as a host starts and
	// ends a phase, for progress displays.
	HostPhase(ev HostPhase)
	// Observed is called with the first cycle's observation of every host
	// that could be observed, before anything changes (what a saved plan
	// records).
	Observed(obs []Observation)
	// Planned is called with every cycle's plan before acting.
	Planned(plan *Plan)
	// BatchStarted is called, in a rollout, as each batch starts acting,
	// with its number (from 1), the number of batches and its plan.
	BatchStarted(batch, batches int, plan *Plan)
	// Acted is called with every cycle's plan after acting, each action's
	// Status filled in.
	Acted(plan *Plan)
}

// NopObserver watches nothing; embed it in an Observer that cares about
// only some events.
type NopObserver struct{}

var _ Observer = NopObserver{}

func (NopObserver) HostPhase(HostPhase)          {}
func (NopObserver) Observed([]Observation)       {}
func (NopObserver) Planned(*Plan)                {}
func (NopObserver) BatchStarted(int, int, *Plan) {}
func (NopObserver) Acted(*Plan)                  {}

// Phases reported to Observer.HostPhase.
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

// phase runs fn, telling the observer when it starts and ends.
func phase(obs Observer, r *hostRun, phase string, fn func()) {
	name := r.host.Metadata.Name
	obs.HostPhase(HostPhase{Host: name, Phase: phase, At: time.Now()})
	fn()
	obs.HostPhase(HostPhase{Host: name, Phase: phase, Done: true, Failed: r.quarantine != nil, Planned: len(r.plan), At: time.Now()})
}
