package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/history"
	"github.com/optimus-cm/optimus/internal/termsafe"
	"github.com/optimus-cm/optimus/reconcilers"
	"golang.org/x/term"
)

// printer writes plans, results and summaries for people, colored when the
// output is a terminal.
type printer struct {
	w     io.Writer
	color bool
}

// safe escapes a value shown on one line: text from hosts and manifests
// (a path, a link's target, a description, a reason) never reaches the
// terminal with a control character in it.
func safe(s string) string { return termsafe.Line(s) }

// safeBlock escapes a message that may span lines (an error with a
// command's stderr) and indents its lines after the first with indent, so
// that none of them can pass for a line of Optimus's own.
func safeBlock(s, indent string) string {
	return strings.ReplaceAll(termsafe.Text(strings.TrimRight(s, "\n")), "\n", "\n"+indent)
}

func newPrinter(w io.Writer) *printer { return &printer{w: w, color: colorWanted(isTerminal(w))} }

// isTerminal reports whether v is a terminal. Being a character device is
// not enough: /dev/null is one too.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// colorWanted says whether output to a terminal (tty) is coloured: not when
// NO_COLOR is set to anything but the empty string (https://no-color.org).
func colorWanted(tty bool) bool { return tty && os.Getenv("NO_COLOR") == "" }

const (
	green  = "\033[32m"
	yellow = "\033[33m"
	red    = "\033[31m"
	bold   = "\033[1m"
	reset  = "\033[0m"
)

func (p *printer) paint(color, s string) string {
	if !p.color {
		return s
	}
	return color + s + reset
}

func opMark(op reconcilers.Op) (string, string) {
	switch op {
	case reconcilers.OpCreate:
		return "+", green
	case reconcilers.OpDelete:
		return "-", red
	default:
		return "~", yellow
	}
}

// planPrinter is the engine's observer that prints, as apply shows them,
// each cycle's plan, each rollout batch as it starts and each outcome.
type planPrinter struct {
	controller.NopObserver
	p *printer
}

func (o planPrinter) Planned(plan *controller.Plan)                 { o.p.plan(plan) }
func (o planPrinter) BatchStarted(n, of int, plan *controller.Plan) { o.p.batch(n, of, plan) }
func (o planPrinter) Acted(plan *controller.Plan)                   { o.p.acted(plan) }

// plan prints what a cycle is about to do.
func (p *printer) plan(plan *controller.Plan) {
	hosts := len(plan.Hosts)
	fmt.Fprintf(p.w, "%s\n", p.paint(bold, fmt.Sprintf("Plan (cycle %d): %d %s on %d %s", plan.Cycle,
		plan.Count(), plural(plan.Count(), "action", "actions"), hosts, plural(hosts, "host", "hosts"))))
	batch := 0
	for _, h := range plan.Hosts {
		if h.Batch != batch {
			batch = h.Batch
			fmt.Fprintf(p.w, "%s\n", p.paint(bold, fmt.Sprintf("Batch %d:", batch)))
		}
		fmt.Fprintf(p.w, "%s\n", p.paint(bold, safe(h.Host)))
		for _, a := range h.Actions {
			mark, color := opMark(a.Op)
			if a.Status == controller.StatusFailed || a.Status == controller.StatusSkipped {
				// Failed or skipped already while planning: it will not run.
				fmt.Fprintf(p.w, "  %s %s: %s\n", p.paint(red, "!"), safe(a.Resource.String()), safeBlock(a.ErrorText(), "      "))
				continue
			}
			desc := safe(a.Description)
			if a.Pruned {
				desc += " (pruned: left the manifests)"
			}
			fmt.Fprintf(p.w, "  %s %s: %s\n", p.paint(color, mark), safe(a.Resource.String()), desc)
			for _, c := range a.Changes {
				fmt.Fprintf(p.w, "      %s\n", safe(history.ChangeLine(c)))
			}
			if a.Diff != "" {
				for _, line := range strings.Split(strings.TrimRight(a.Diff, "\n"), "\n") {
					fmt.Fprintf(p.w, "      %s\n", p.diffLine(line))
				}
			}
		}
	}
}

// diffLine colours a line of a diff, escaped: its tabs are the file's.
func (p *printer) diffLine(line string) string {
	line = termsafe.Text(strings.TrimRight(line, "\n"))
	line = strings.ReplaceAll(line, "\n", `\n`)
	switch {
	case strings.HasPrefix(line, "+"):
		return p.paint(green, line)
	case strings.HasPrefix(line, "-"):
		return p.paint(red, line)
	}
	return line
}

// batch announces a rollout batch as it starts acting.
func (p *printer) batch(n, of int, plan *controller.Plan) {
	names := make([]string, len(plan.Hosts))
	for i, h := range plan.Hosts {
		names[i] = safe(h.Host)
	}
	fmt.Fprintf(p.w, "%s\n", p.paint(bold, fmt.Sprintf("Batch %d of %d: acting on %s", n, of, strings.Join(names, ", "))))
}

// acted prints the outcome of each action of a cycle.
func (p *printer) acted(plan *controller.Plan) {
	for _, h := range plan.Hosts {
		if cause := lostCause(h.Actions); cause != "" {
			// Said once: every unknown action has the same cause.
			host := safe(h.Host)
			fmt.Fprintf(p.w, "[%s] %s %s\n", host, p.paint(yellow, "connection lost:"), safeBlock(cause, "["+host+"]     "))
		}
		for _, a := range h.Actions {
			var status string
			switch a.Status {
			case controller.StatusOK:
				status = p.paint(green, "ok")
			case controller.StatusFailed:
				status = p.paint(red, "FAILED")
			default:
				status = p.paint(yellow, string(a.Status))
			}
			host := safe(h.Host)
			fmt.Fprintf(p.w, "[%s] %s: %s ... %s\n", host, safe(a.Resource.String()), safe(a.Description), status)
			if msg := a.ErrorText(); msg != "" {
				fmt.Fprintf(p.w, "[%s]     %s\n", host, safeBlock(msg, "["+host+"]     "))
			}
		}
	}
}

// lostNote adds to a host's reason what became of the actions whose
// results a lost connection took.
func lostNote(h controller.HostReport, reason string) string {
	var notes []string
	if h.Confirmed > 0 {
		notes = append(notes, fmt.Sprintf("connection lost while acting; observed again: %d %s found done", h.Confirmed, plural(h.Confirmed, "action", "actions")))
	}
	if h.Unknown > 0 {
		notes = append(notes, fmt.Sprintf("%d %s unknown (connection lost before %s came back)", h.Unknown, plural(h.Unknown, "action", "actions"), plural(h.Unknown, "its result", "their results")))
	}
	if reason != "" {
		notes = append(notes, reason)
	}
	return strings.Join(notes, "; ")
}

// lostCause is why the results of a host's unknown actions were lost,
// scrubbed, or "" when none is unknown.
func lostCause(actions []controller.PlannedAction) string {
	for _, a := range actions {
		if a.Status == controller.StatusUnknown {
			return a.CauseText()
		}
	}
	return ""
}

// compactAbove is the number of hosts above which the summary lists only
// the hosts worth reading (failed, changed, not converged) unless -o wide.
const compactAbove = 20

// summary prints the per-host table: every host for a small run or with
// wide, otherwise the counts first and then the failed hosts and those that
// changed or did not converge, failed first.
func (p *printer) summary(r *controller.Report, wide bool) {
	batched := r.Rollout != nil
	if wide || len(r.Hosts) <= compactAbove {
		p.table(r.Hosts, batched)
		return
	}
	counts := map[controller.HostState]int{}
	var failed, others []controller.HostReport
	changed := 0
	for _, h := range r.Hosts {
		counts[h.State]++
		if h.Changed > 0 {
			changed++
		}
		switch {
		case h.State == controller.HostFailed:
			failed = append(failed, h)
		case h.State != controller.HostConverged || h.Changed > 0 || h.Failed > 0 || h.Skipped > 0:
			others = append(others, h)
		}
	}
	var parts []string
	for _, st := range []controller.HostState{controller.HostConverged, controller.HostFailed} {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
		}
	}
	for st, n := range counts {
		if st != controller.HostConverged && st != controller.HostFailed {
			parts = append(parts, fmt.Sprintf("%d %s", n, st))
		}
	}
	fmt.Fprintf(p.w, "%d hosts: %s; %d changed.\n", len(r.Hosts), strings.Join(parts, ", "), changed)
	if listed := append(failed, others...); len(listed) > 0 {
		p.table(listed, batched)
	}
	if quiet := len(r.Hosts) - len(failed) - len(others); quiet > 0 {
		fmt.Fprintf(p.w, "%d %s converged with nothing to change, not listed (-o wide lists every host).\n", quiet, plural(quiet, "host", "hosts"))
	}
}

// table prints one row per host, with its batch in a rollout. Colors are
// added after the columns are laid out, since escape codes would count as
// width.
func (p *printer) table(hosts []controller.HostReport, batched bool) {
	r := struct{ Hosts []controller.HostReport }{hosts}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	if batched {
		fmt.Fprintln(tw, "HOST\tBATCH\tSTATE\tCHANGED\tFAILED\tSKIPPED\tREASON")
	} else {
		fmt.Fprintln(tw, "HOST\tSTATE\tCHANGED\tFAILED\tSKIPPED\tREASON")
	}
	for _, h := range r.Hosts {
		// One row per host: a reason spanning lines is folded into one.
		reason := safe(strings.Join(strings.Fields(strings.ReplaceAll(h.Reason(), "\n", " ")), " "))
		reason = lostNote(h, reason)
		if batched {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%d\t%s\n", safe(h.Host), h.Batch, h.State, h.Changed, h.Failed, h.Skipped, reason)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", safe(h.Host), h.State, h.Changed, h.Failed, h.Skipped, reason)
	}
	_ = tw.Flush()
	lines := strings.SplitAfter(buf.String(), "\n")
	for i, h := range r.Hosts {
		line := lines[i+1]
		state := string(h.State)
		name := safe(h.Host)
		rel := strings.Index(line[len(name):], state)
		if rel < 0 {
			continue
		}
		at := len(name) + rel
		color := yellow
		switch h.State {
		case controller.HostConverged:
			color = green
		case controller.HostFailed:
			color = red
		}
		lines[i+1] = line[:at] + p.paint(color, state) + line[at+len(state):]
	}
	fmt.Fprint(p.w, strings.Join(lines, ""))
}

// jsonReport is the machine-readable result of apply and diff.
type jsonReport struct {
	*controller.Report
	ExitCode int `json:"exitCode"`
}

func writeJSON(w io.Writer, r *controller.Report, code int) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(jsonReport{Report: r, ExitCode: code})
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
