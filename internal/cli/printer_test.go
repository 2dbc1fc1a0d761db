package cli

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/controller"
)

// TestColoredSummaryStaysAligned: color codes must not shift the columns.
func TestColoredSummaryStaysAligned(t *testing.T) {
	r := &controller.Report{Hosts: []controller.HostReport{
		{Host: "web-1", State: controller.HostConverged, Changed: 2},
		{Host: "db", State: controller.HostFailed, Failed: 1, Err: errors.New("User/alice: exit status 1:\nuseradd: cannot lock /etc/passwd;\n  try again later.")},
	}}
	var plain, colored bytes.Buffer
	(&printer{w: &plain}).summary(r, false)
	(&printer{w: &colored, color: true}).summary(r, false)
	stripped := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(colored.String(), "")
	if stripped != plain.String() {
		t.Errorf("colored table differs from the plain one once colors are removed:\n%s\nvs\n%s", stripped, plain.String())
	}
	if strings.Count(plain.String(), "\n") != 3 || !strings.Contains(plain.String(), "exit status 1: useradd: cannot lock /etc/passwd; try again later.") {
		t.Errorf("a reason spanning lines must be folded into its row:\n%s", plain.String())
	}
	if !strings.Contains(colored.String(), red+"failed"+reset) {
		t.Errorf("failed host not in red:\n%q", colored.String())
	}
}

// TestLargeRunSummaryLeadsWithCounts: a large run's summary starts with the
// counts and lists failed hosts first, then changed ones, never the quiet
// converged hosts, unless wide.
func TestLargeRunSummaryLeadsWithCounts(t *testing.T) {
	r := &controller.Report{Converged: true}
	for i := range 100 {
		r.Hosts = append(r.Hosts, controller.HostReport{Host: fmt.Sprintf("h%03d", i), State: controller.HostConverged})
	}
	r.Hosts[7].Changed = 3
	r.Hosts[42] = controller.HostReport{Host: "h042", State: controller.HostFailed, Err: errors.New("host h042: connection refused")}
	var out bytes.Buffer
	printApplyOutcome(&printer{w: &out}, r, false, nil)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if strings.Contains(out.String(), "Nothing to do") {
		t.Errorf("says there is nothing to do although a host failed:\n%s", out.String())
	}
	want := []string{"1 of 100 hosts failed", "100 hosts: 99 converged, 1 failed; 1 changed.", "HOST", "h042", "h007",
		"98 hosts converged with nothing to change, not listed (-o wide lists every host)."}
	for i, w := range want {
		if i >= len(lines) || !strings.HasPrefix(lines[i], w) {
			t.Fatalf("line %d: want %q first\n%s", i+1, w, out.String())
		}
	}
	out.Reset()
	printApplyOutcome(&printer{w: &out}, r, true, nil)
	if n := strings.Count(out.String(), "\nh0"); n != 100 {
		t.Errorf("-o wide lists %d hosts, want 100", n)
	}
}

// TestProgressLine: the line counts hosts per phase and names the slowest.
func TestProgressLine(t *testing.T) {
	var w bytes.Buffer
	p := &progress{w: &w, total: 3, start: time.Now(), running: map[string]hostState{}, observed: map[string]bool{}, failed: map[string]bool{}}
	t0 := time.Now().Add(-2 * time.Second)
	for _, h := range []string{"a", "b", "c"} {
		p.event(controller.HostPhase{Host: h, Phase: controller.PhaseObserve, At: t0})
	}
	p.event(controller.HostPhase{Host: "a", Phase: controller.PhaseObserve, Done: true, At: time.Now()})
	p.event(controller.HostPhase{Host: "b", Phase: controller.PhaseObserve, Done: true, Failed: true, At: time.Now()})
	p.event(controller.HostPhase{Host: "a", Phase: controller.PhaseAct, At: time.Now()})
	line := p.line()
	for _, want := range []string{"observed 2/3", "observing 1", "acting 1", "failed 1", "slowest: c (observe, 2"} {
		if !strings.Contains(line, want) {
			t.Errorf("progress line %q lacks %q", line, want)
		}
	}
	p.draw()
	if !strings.HasPrefix(w.String(), "progress: observed 2/3") || !strings.HasSuffix(w.String(), "\n") {
		t.Errorf("a log gets whole lines: %q", w.String())
	}
	if newProgress(&w, 10, true) != nil || newProgress(&w, 1000, false) != nil {
		t.Error("progress shown for a small run in a log, or with -o json")
	}
}

// TestLostConnectionToldOnce: a host whose connection was lost while acting
// has its cause printed once, escaped, each unknown action one short line,
// and no protocol bytes.
func TestLostConnectionToldOnce(t *testing.T) {
	cause := errors.New("host web1 (127.0.0.1:22): connection lost during a batch, after 2 of 3 commands had finished (unexpected EOF): \x1b[31mbye")
	unknown := func(name string) controller.PlannedAction {
		a := controller.PlannedAction{Status: controller.StatusUnknown, Err: &controller.UnconfirmedError{Cause: cause}}
		a.Resource.Kind, a.Resource.Name, a.Description = "Service", name, "restart service "+name
		return a
	}
	done := controller.PlannedAction{Status: controller.StatusOK}
	done.Resource.Kind, done.Resource.Name, done.Description = "File", "conf", "update content of file /etc/conf"
	plan := &controller.Plan{Cycle: 1, Hosts: []controller.HostPlan{{Host: "web1", Actions: []controller.PlannedAction{done, unknown("a"), unknown("b")}}}}
	var out bytes.Buffer
	(&printer{w: &out}).acted(plan)
	got := out.String()
	if strings.Count(got, "connection lost:") != 1 || strings.Count(got, "unexpected EOF") != 1 || strings.Contains(got, "\x1b") {
		t.Errorf("the cause must be told once, escaped:\n%s", got)
	}
	if strings.Count(got, "... unknown") != 2 || !strings.Contains(got, "File/conf: update content of file /etc/conf ... ok") || strings.Contains(got, "FAILED") {
		t.Errorf("want the File ok and both restarts unknown:\n%s", got)
	}
	var table bytes.Buffer
	(&printer{w: &table}).summary(&controller.Report{Hosts: []controller.HostReport{{Host: "web1", State: controller.HostConverged, Changed: 2, Confirmed: 1}}}, false)
	if !strings.Contains(table.String(), "observed again: 1 action found done") {
		t.Errorf("the summary does not say what observing again found:\n%s", table.String())
	}
}
