package cli

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/history"
	"github.com/optimus-cm/optimus/reconcilers"
)

// JUnit XML as CI systems read it: testsuites > testsuite (one per host) >
// testcase (one per resource, plus one for reaching the host).
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr,omitempty"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr,omitempty"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

// writeJUnit writes run as JUnit XML. A drifted (diff) or failed (apply)
// resource is a failed case with its change lines or reason; a host that
// could not be reached or observed is an errored case, and its resources
// are skipped, since nothing is known about them.
func writeJUnit(w io.Writer, name string, run *history.Run) error {
	doc := junitSuites{Name: name}
	if d := run.Duration(); d > 0 {
		doc.Time = seconds(d.Seconds())
	}
	diff := run.Command == history.CommandDiff
	for _, h := range run.Hosts {
		suite := junitSuite{Name: h.Name}
		if h.Duration > 0 {
			suite.Time = seconds(h.Duration.Seconds())
		}
		byResource := map[string][]history.Action{}
		var order []string
		for _, r := range h.Resources {
			if _, ok := byResource[r]; !ok {
				order = append(order, r)
				byResource[r] = nil
			}
		}
		actionFailed := false
		for _, a := range h.Actions {
			if _, ok := byResource[a.Resource]; !ok {
				order = append(order, a.Resource)
			}
			byResource[a.Resource] = append(byResource[a.Resource], a)
			actionFailed = actionFailed || a.Status == string(controller.StatusFailed)
		}
		unreachable := h.State == history.StateFailed && len(h.Actions) == 0
		hostCase := junitCase{Name: "Host/" + h.Name, Classname: h.Name}
		if h.State == history.StateFailed && !actionFailed {
			hostCase.Error = &junitMessage{Message: oneLine(h.Reason), Type: "unreachable", Text: h.Reason}
		}
		if h.State == history.StateInterrupted {
			hostCase.Error = &junitMessage{Message: oneLine(h.Reason), Type: "interrupted", Text: h.Reason}
		}
		if h.State == history.StateUntouched {
			hostCase.Skipped = &junitMessage{Message: "not acted on: the failure budget stopped the rollout before its batch"}
		}
		suite.Cases = append(suite.Cases, hostCase)
		for _, res := range order {
			suite.Cases = append(suite.Cases, resourceCase(h, res, byResource[res], diff, unreachable))
		}
		for _, c := range suite.Cases {
			suite.Tests++
			switch {
			case c.Failure != nil:
				suite.Failures++
			case c.Error != nil:
				suite.Errors++
			case c.Skipped != nil:
				suite.Skipped++
			}
		}
		doc.Tests += suite.Tests
		doc.Failures += suite.Failures
		doc.Errors += suite.Errors
		doc.Skipped += suite.Skipped
		doc.Suites = append(doc.Suites, suite)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func resourceCase(h history.Host, res string, actions []history.Action, diff, unreachable bool) junitCase {
	c := junitCase{Name: res, Classname: h.Name}
	text := actionText(actions)
	var failed, unconverged, skipped, pending bool
	for _, a := range actions {
		switch a.Status {
		case string(controller.StatusFailed):
			failed = true
		case history.StateUnconverged:
			unconverged = true
		case string(controller.StatusSkipped):
			skipped = true
		case string(controller.StatusPlanned), string(controller.StatusNotRun):
			pending = true
		}
	}
	switch {
	case unreachable:
		c.Skipped = &junitMessage{Message: "not observed: the host could not be reached"}
	case failed:
		c.Failure = &junitMessage{Message: "failed: " + firstError(actions), Type: "failed", Text: text}
	case unconverged:
		c.Failure = &junitMessage{Message: "kept changing after the maximum number of cycles", Type: "unconverged", Text: text}
	case diff && len(actions) > 0:
		c.Failure = &junitMessage{Message: fmt.Sprintf("drift: %d %s to take", len(actions), plural(len(actions), "action", "actions")), Type: "drift", Text: text}
	case skipped:
		c.Skipped = &junitMessage{Message: "not applied: the host was quarantined by an earlier failure"}
	case pending:
		c.Failure = &junitMessage{Message: "not applied: the run stopped before acting", Type: "not-applied", Text: text}
	case len(actions) > 0:
		c.SystemOut = text
	}
	return c
}

// actionText is the actions as apply prints them: a line per action, its
// change lines below, and its error.
func actionText(actions []history.Action) string {
	var b strings.Builder
	for _, a := range actions {
		mark, _ := opMark(reconcilers.Op(a.Op))
		fmt.Fprintf(&b, "%s %s: %s (%s)\n", mark, a.Resource, a.Description, a.Status)
		for _, l := range a.Lines {
			fmt.Fprintf(&b, "    %s\n", l)
		}
		if a.Error != "" {
			fmt.Fprintf(&b, "    error: %s\n", a.Error)
		}
	}
	return b.String()
}

func firstError(actions []history.Action) string {
	for _, a := range actions {
		if a.Error != "" {
			return oneLine(a.Error)
		}
	}
	return "action failed"
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func seconds(s float64) string { return fmt.Sprintf("%.3f", s) }
