package record

import (
	"errors"
	"slices"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/engine"
	"github.com/optimus-cm/optimus/history"
	"github.com/optimus-cm/optimus/reconcilers"
)

// TestFromReportKeepsHostsActionsAndOutcome: a run record carries each
// host's counts and reason, each action with its change lines and error,
// the resources that kept changing, and the outcome the command reports.
func TestFromReportKeepsHostsActionsAndOutcome(t *testing.T) {
	user := v1alpha1.ResourceRef{Kind: "User", Name: "bob"}
	rep := &engine.Report{Cycles: 2,
		Hosts: []engine.HostReport{
			{Host: "web1", State: engine.HostConverged, Changed: 1, RoundTrips: 3, Connects: 1},
			{Host: "web2", State: engine.HostFailed, Failed: 1, Err: errors.New("connection refused")},
		},
		Plans: []*engine.Plan{{Cycle: 1, Hosts: []engine.HostPlan{
			{Host: "web1", Actions: []engine.PlannedAction{{Resource: user, Status: engine.StatusOK,
				Action: reconcilers.Action{Op: reconcilers.OpCreate, Description: "create user bob",
					Changes: []reconcilers.Change{{Field: "shell", After: "/bin/bash"}}}}}},
			{Host: "web2", Actions: []engine.PlannedAction{{Resource: user, Status: engine.StatusFailed,
				Err: &engine.ActionError{ExitCode: 1, Output: "useradd: failed"}, Action: reconcilers.Action{Description: "create user bob"}}}},
		}}},
		Unconverged: []engine.HostResource{{Host: "web1", Ref: user}},
	}
	run := FromReport(history.CommandApply, rep, map[string][]string{"web1": {"User/bob"}})
	if run.Command != history.CommandApply || run.Cycles != 2 || len(run.Hosts) != 2 || run.Outcome != history.OutcomeUnconverged {
		t.Fatalf("run = %+v", run)
	}
	w1, w2 := run.Host("web1"), run.Host("web2")
	if w1.State != "converged" || w1.Changed != 1 || w1.RoundTrips != 3 || !slices.Equal(w1.Resources, []string{"User/bob"}) || len(w1.Actions) != 2 {
		t.Errorf("web1 = %+v", w1)
	}
	if a := w1.Actions[0]; a.Resource != "User/bob" || a.Op != "create" || a.Status != "ok" || !slices.Equal(a.Lines, []string{`shell: "" -> /bin/bash`}) {
		t.Errorf("web1's action = %+v", a)
	}
	if a := w1.Actions[1]; a.Status != history.StateUnconverged || a.Cycle != 2 {
		t.Errorf("web1's unconverged resource = %+v", a)
	}
	if w2.State != "failed" || w2.Reason != "connection refused" || len(w2.Actions) != 1 || w2.Actions[0].Error != "exit status 1: useradd: failed" {
		t.Errorf("web2 = %+v", w2)
	}

	for _, tc := range []struct {
		command string
		rep     *engine.Report
		want    string
	}{
		{history.CommandApply, &engine.Report{Converged: true}, history.OutcomeConverged},
		{history.CommandApply, &engine.Report{Declined: true}, history.OutcomeDeclined},
		{history.CommandApply, &engine.Report{Interrupted: true}, history.OutcomeInterrupted},
		{history.CommandApply, &engine.Report{Hosts: []engine.HostReport{{State: engine.HostFailed}}}, history.OutcomeHostsFailed},
		{history.CommandDiff, &engine.Report{}, history.OutcomeNoDifferences},
		{history.CommandDiff, &engine.Report{Plans: []*engine.Plan{{}}}, history.OutcomeDifferences},
		{history.CommandDiff, &engine.Report{Hosts: []engine.HostReport{{State: engine.HostFailed}}}, history.OutcomeCannotTell},
		{history.CommandDiff, &engine.Report{Interrupted: true}, history.OutcomeInterrupted},
	} {
		if got := FromReport(tc.command, tc.rep, nil).Outcome; got != tc.want {
			t.Errorf("%s of %+v: outcome %s, want %s", tc.command, tc.rep, got, tc.want)
		}
	}
}
