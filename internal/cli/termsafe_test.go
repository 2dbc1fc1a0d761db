package cli

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/reconcilers"
)

// hostile is what a user of a host can put in a file, a link target or a
// command's output: a cleared screen, a retitled window, a carriage return
// that overwrites the line, a forged line and a bidi override.
const hostile = "\x1b[2J\x1b]0;owned\x07\rALL GOOD\n  ✓ fake\u202eline"

// TestTextOutputEscapesHostData prints a plan, its outcome and a summary
// whose every host-supplied field is hostile: nothing reaches the terminal
// raw, and the escaped form is there to read.
func TestTextOutputEscapesHostData(t *testing.T) {
	a := controller.PlannedAction{
		Resource: v1alpha1.ResourceRef{Kind: "File", Name: "motd"},
		Action: reconcilers.Action{Op: reconcilers.OpUpdate, Description: "update /etc/" + hostile,
			Changes: []reconcilers.Change{{Field: "content", Before: hostile, After: "b"}},
			Diff:    "--- a\n+++ b\n-" + hostile + "\n+b\n"},
		Status: controller.StatusFailed, Err: errors.New("exit status 1: " + hostile),
	}
	plan := &controller.Plan{Cycle: 1, Hosts: []controller.HostPlan{{Host: "web1", Actions: []controller.PlannedAction{a}}}}
	var out bytes.Buffer
	p := &printer{w: &out, color: true}
	plan.Hosts[0].Actions[0].Status = controller.StatusPlanned
	p.plan(plan)
	plan.Hosts[0].Actions[0].Status = controller.StatusFailed
	p.plan(plan)
	p.acted(plan)
	p.summary(&controller.Report{Hosts: []controller.HostReport{{Host: "web1", State: controller.HostFailed, Err: errors.New(hostile)}}}, false)
	printNotes(p, &controller.Report{Notes: []controller.Note{{Host: "web1", Text: hostile}}})
	got := regexpColors.ReplaceAllString(out.String(), "")
	checkEscaped(t, got)
	if !strings.Contains(got, `\x1b]0;owned\x07\rALL GOOD`) {
		t.Errorf("the escaped form is not shown:\n%s", got)
	}
	// A message's own lines are indented under it: none passes for an
	// action line ("  ✓ fake" as the host wrote it).
	for _, l := range strings.Split(got, "\n") {
		if strings.HasPrefix(l, "  ✓") || strings.HasPrefix(l, "[web1]   ✓") {
			t.Errorf("a host's text starts a line of its own: %q", l)
		}
	}
}

func TestRunOutputEscapedUnlessRaw(t *testing.T) {
	var esc, raw bytes.Buffer
	prefixLines(&esc, "web1", []byte(hostile), false)
	prefixLines(&raw, "web1", []byte(hostile), true)
	checkEscaped(t, esc.String())
	if !strings.Contains(raw.String(), "\x1b]0;owned\x07\rALL GOOD") {
		t.Errorf("--raw output is not raw: %q", raw.String())
	}
}

// TestTextLogsEscapeHostData: the controller's text logs quote values with
// control characters (slog's text handler does).
func TestTextLogsEscapeHostData(t *testing.T) {
	var out bytes.Buffer
	log, err := newLogger(&out, "text", "info")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("reconcile failed: "+hostile, "host", "web1", "error", hostile)
	checkEscaped(t, out.String())
}

// regexpColors matches the colors Optimus itself prints.
var regexpColors = regexp.MustCompile("\x1b\\[[0-9;]*m")

// checkEscaped fails when out holds a control character other than a
// newline or a bidi override.
func checkEscaped(t *testing.T, out string) {
	t.Helper()
	if i := strings.IndexAny(out, "\x1b\x07\r\u202e\u009b"); i >= 0 {
		t.Errorf("raw control character at %d in:\n%q", i, out)
	}
}
