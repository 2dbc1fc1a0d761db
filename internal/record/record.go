package record

import (
	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/history"
)

// FromReport turns an engine report into a run record. resources, when
// not nil, lists per host the resources that target it.
func FromReport(command string, rep *controller.Report, resources map[string][]string) *history.Run {
	run := &history.Run{Command: command, Cycles: rep.Cycles}
	byHost := map[string]int{}
	for _, h := range rep.Hosts {
		byHost[h.Host] = len(run.Hosts)
		run.Hosts = append(run.Hosts, history.Host{
			Name: h.Host, State: string(h.State), Reason: h.Reason(),
			Changed: h.Changed, Failed: h.Failed, Skipped: h.Skipped,
			RoundTrips: h.RoundTrips, Connects: h.Connects,
			Resources: resources[h.Host],
		})
	}
	for _, p := range rep.Plans {
		for _, hp := range p.Hosts {
			i, ok := byHost[hp.Host]
			if !ok {
				continue
			}
			for _, a := range hp.Actions {
				run.Hosts[i].Actions = append(run.Hosts[i].Actions, history.Action{
					Cycle: p.Cycle, Resource: a.Resource.String(), Op: string(a.Op),
					Description: a.Description, Status: string(a.Status), Lines: history.ChangeLines(a.Action),
					Error: a.ErrorText()})
			}
		}
	}
	if un := unconverged(rep); len(un) > 0 {
		for i := range run.Hosts {
			for _, res := range un[run.Hosts[i].Name] {
				run.Hosts[i].Actions = append(run.Hosts[i].Actions, history.Action{Cycle: rep.Cycles, Resource: res,
					Status: history.StateUnconverged, Error: "kept changing after the maximum number of cycles"})
			}
		}
	}
	run.Outcome = outcome(command, rep)
	return run
}

// unconverged returns the resources that kept changing, per host.
func unconverged(r *controller.Report) map[string][]string {
	out := map[string][]string{}
	for _, u := range r.Unconverged {
		out[u.Host] = append(out[u.Host], u.Ref.String())
	}
	return out
}

func outcome(command string, rep *controller.Report) string {
	failed := len(rep.Failed()) > 0
	if command == history.CommandDiff {
		switch {
		case rep.Interrupted:
			return history.OutcomeInterrupted
		case failed:
			return history.OutcomeCannotTell
		case len(rep.Plans) > 0:
			return history.OutcomeDifferences
		}
		return history.OutcomeNoDifferences
	}
	switch {
	case rep.Declined:
		return history.OutcomeDeclined
	case rep.Interrupted:
		return history.OutcomeInterrupted
	case len(rep.Unconverged) > 0:
		return history.OutcomeUnconverged
	case failed:
		return history.OutcomeHostsFailed
	}
	return history.OutcomeConverged
}
