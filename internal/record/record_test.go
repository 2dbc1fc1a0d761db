package record

import (
	"errors"
	"slices"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/history"
	"github.com/optimus-cm/optimus/reconcilers"
)

// TestFromReportKeepsHostsActionsAndOutcome: a run record carries each
// host's counts and reason, each action with its change lines and error,
// the resources that kept changing, and the outcome the command reports.
func TestFromReportKeepsHostsActionsAndOutcome(t *testing.T) {
	user := v1alpha1.ResourceRef{Kind: "User", Name: "bob"}
	rep := &controller.Report{Cycles: 2,
		Hosts: []controller.HostReport{
			{Host: "web1", State: controller.HostConverged, Changed: 1, RoundTrips: 3, Connects: 1},
			{Host: "web2", State: controller.HostFailed, Failed: 1, Err: errors.New("connection refused")},
		},
		Plans: []*controller.Plan{{Cycle: 1, Hosts: []controller.HostPlan{
			{Host: "web1", Actions: []controller.PlannedAction{{Resource: user, Status: controller.StatusOK,
				Action: reconcilers.Action{Op: reconcilers.OpCreate, Description: "create user bob",
					Changes: []reconcilers.Change{{Field: "shell", After: "/bin/bash"}}}}}},
			{Host: "web2", Actions: []controller.PlannedAction{{Resource: user, Status: controller.StatusFailed,
				Err: &controller.ActionError{ExitCode: 1, Output: "useradd: failed"}, Action: reconcilers.Action{Description: "create user bob"}}}},
		}}},
		Unconverged: []controller.HostResource{{Host: "web1", Ref: user}},
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
		rep     *controller.Report
		want    string
	}{
		{history.CommandApply, &controller.Report{Converged: true}, history.OutcomeConverged},
		{history.CommandApply, &controller.Report{Declined: true}, history.OutcomeDeclined},
		{history.CommandApply, &controller.Report{Interrupted: true}, history.OutcomeInterrupted},
		{history.CommandApply, &controller.Report{Hosts: []controller.HostReport{{State: controller.HostFailed}}}, history.OutcomeHostsFailed},
		{history.CommandDiff, &controller.Report{}, history.OutcomeNoDifferences},
		{history.CommandDiff, &controller.Report{Plans: []*controller.Plan{{}}}, history.OutcomeDifferences},
		{history.CommandDiff, &controller.Report{Hosts: []controller.HostReport{{State: controller.HostFailed}}}, history.OutcomeCannotTell},
		{history.CommandDiff, &controller.Report{Interrupted: true}, history.OutcomeInterrupted},
	} {
		if got := FromReport(tc.command, tc.rep, nil).Outcome; got != tc.want {
			t.Errorf("%s of %+v: outcome %s, want %s", tc.command, tc.rep, got, tc.want)
		}
	}
}
