package history

import (
	"fmt"
	"strings"

	"github.com/optimus-cm/optimus/engine"
	"github.com/optimus-cm/optimus/reconcilers"
)

// This file is the only place that reads the engine's Report; the small
// accessors below keep the rest of the package independent of its shape.

func hostName(h engine.HostReport) string        { return h.Host }
func hostState(h engine.HostReport) string       { return string(h.State) }
func hostReason(h engine.HostReport) string      { return h.Reason() }
func planHost(h engine.HostPlan) string          { return h.Host }
func actionRef(a engine.PlannedAction) string    { return text(a.Resource) }
func actionStatus(a engine.PlannedAction) string { return string(a.Status) }
func actionError(a engine.PlannedAction) string  { return a.ErrorText() }

// text renders a string, a Stringer or an error; nil is empty.
func text(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// unconverged returns the resources that kept changing, per host.
func unconverged(r *engine.Report) map[string][]string {
	out := map[string][]string{}
	for _, u := range r.Unconverged {
		out[u.Host] = append(out[u.Host], u.Ref.String())
	}
	return out
}

// ChangeLine formats one field change as apply prints it.
func ChangeLine(c reconcilers.Change) string {
	return fmt.Sprintf("%s: %s -> %s", c.Field, quoteEmpty(c.Before), quoteEmpty(c.After))
}

func quoteEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// changeLines are the lines printed under an action: its field changes,
// then its diff.
func changeLines(a reconcilers.Action) []string {
	var lines []string
	for _, c := range a.Changes {
		lines = append(lines, ChangeLine(c))
	}
	if a.Diff != "" {
		lines = append(lines, strings.Split(strings.TrimRight(a.Diff, "\n"), "\n")...)
	}
	return lines
}

// FromReport turns an engine report into a run record. resources, when
// not nil, lists per host the resources that target it.
func FromReport(command string, rep *engine.Report, resources map[string][]string) *Run {
	run := &Run{Command: command, Cycles: rep.Cycles}
	byHost := map[string]int{}
	for _, h := range rep.Hosts {
		byHost[hostName(h)] = len(run.Hosts)
		run.Hosts = append(run.Hosts, Host{
			Name: hostName(h), State: hostState(h), Reason: hostReason(h),
			Changed: h.Changed, Failed: h.Failed, Skipped: h.Skipped,
			RoundTrips: h.RoundTrips, Connects: h.Connects,
			Resources: resources[hostName(h)],
		})
	}
	for _, p := range rep.Plans {
		for _, hp := range p.Hosts {
			i, ok := byHost[planHost(hp)]
			if !ok {
				continue
			}
			for _, a := range hp.Actions {
				act := Action{Cycle: p.Cycle, Resource: actionRef(a), Op: string(a.Op),
					Description: a.Description, Status: actionStatus(a), Lines: changeLines(a.Action)}
				act.Error = actionError(a)
				run.Hosts[i].Actions = append(run.Hosts[i].Actions, act)
			}
		}
	}
	if un := unconverged(rep); len(un) > 0 {
		for i := range run.Hosts {
			for _, res := range un[run.Hosts[i].Name] {
				run.Hosts[i].Actions = append(run.Hosts[i].Actions, Action{Cycle: rep.Cycles, Resource: res,
					Status: StateUnconverged, Error: "kept changing after the maximum number of cycles"})
			}
		}
	}
	run.Outcome = outcome(command, rep)
	return run
}

func outcome(command string, rep *engine.Report) string {
	failed := len(rep.Failed()) > 0
	if command == CommandDiff {
		switch {
		case rep.Interrupted:
			return OutcomeInterrupted
		case failed:
			return OutcomeCannotTell
		case len(rep.Plans) > 0:
			return OutcomeDifferences
		}
		return OutcomeNoDifferences
	}
	switch {
	case rep.Declined:
		return OutcomeDeclined
	case rep.Interrupted:
		return OutcomeInterrupted
	case len(rep.Unconverged) > 0:
		return OutcomeUnconverged
	case failed:
		return OutcomeHostsFailed
	}
	return OutcomeConverged
}
