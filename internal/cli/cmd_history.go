package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/history"
	"github.com/optimus-cm/optimus/reconcilers"
)

func newHistoryCmd(cfg Config) *cobra.Command {
	var (
		hf     historyFlags
		filter history.Filter
		output string
	)
	cmd := &cobra.Command{
		Use:   "history [--host H] [--failed]",
		Short: "List recorded runs: who ran what, when, and how each host ended",
		Long: `List the runs recorded in the run history, newest first. Every apply and
diff is recorded there after it ran, unless --no-history was given; the
controller keeps its own history, of every host reconcile, in its state
directory (read it with --state-dir).

The history is a SQLite database, history.db in the state directory, readable
with the sqlite3 command line too. Runs older than 90 days, and all but the
newest 1000, are deleted when a run is recorded.

A run shown as incomplete started and never recorded its end: the process
was killed.`,
		Example: `  optimus history
  optimus history --host web1 --failed
  optimus history show last`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkTableOrJSON(output); err != nil {
				return err
			}
			store, err := hf.open(cmd.Context(), cfg)
			if err != nil {
				return &ExitError{Code: exitFailed, Err: err}
			}
			defer store.Close()
			runs, err := store.List(cmd.Context(), filter)
			if err != nil {
				return &ExitError{Code: exitFailed, Err: err}
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				return writeIndented(out, nonNilRuns(runs))
			}
			if len(runs) == 0 {
				fmt.Fprintf(out, "No runs recorded in %s.\n", store.Path())
				return nil
			}
			printRuns(out, runs)
			return nil
		},
	}
	hf.register(cmd, false)
	cmd.Flags().StringVar(&filter.Host, "host", "", "only runs that worked on this host")
	cmd.Flags().BoolVar(&filter.Failed, "failed", false, "only runs where a host failed, was unreachable or did not converge")
	cmd.Flags().IntVar(&filter.Limit, "limit", 50, "at most this many runs, newest first")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	cmd.AddCommand(newHistoryShowCmd(cfg))
	return cmd
}

func newHistoryShowCmd(cfg Config) *cobra.Command {
	var (
		hf     historyFlags
		output string
	)
	cmd := &cobra.Command{
		Use:   "show RUN",
		Short: "Show one run: each host's actions with their change lines, and the summary table",
		Long: `Show one recorded run, as apply printed it: each action with its change
lines (secrets redacted, as on screen) and outcome, then the summary table.
RUN is a run number from optimus history, or "last".`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkTableOrJSON(output); err != nil {
				return err
			}
			store, err := hf.open(cmd.Context(), cfg)
			if err != nil {
				return &ExitError{Code: exitFailed, Err: err}
			}
			defer store.Close()
			var id int64
			if args[0] == "last" {
				if id, err = store.LastID(cmd.Context()); err != nil {
					return &ExitError{Code: exitFailed, Err: err}
				}
			} else if id, err = strconv.ParseInt(strings.TrimPrefix(args[0], "#"), 10, 64); err != nil {
				return exitf(exitInvalid, "RUN must be a run number from optimus history, or last; not %q", args[0])
			}
			run, err := store.Get(cmd.Context(), id)
			if err != nil {
				return &ExitError{Code: exitFailed, Err: fmt.Errorf("%w in %s", err, store.Path())}
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				return writeIndented(out, run)
			}
			printRun(newPrinter(out), run)
			return nil
		},
	}
	hf.register(cmd, false)
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

func checkTableOrJSON(output string) error {
	if output != "table" && output != "json" {
		return exitf(exitInvalid, "--output must be table or json, not %q", output)
	}
	return nil
}

func writeIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func nonNilRuns(runs []*history.Run) []*history.Run {
	if runs == nil {
		return []*history.Run{}
	}
	return runs
}

const historyTime = "2006-01-02 15:04:05"

func printRuns(w io.Writer, runs []*history.Run) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTARTED\tDURATION\tCOMMAND\tWHO\tHOSTS\tNOT CONVERGED\tOUTCOME\tEXIT")
	for _, r := range runs {
		dur, exit := "-", "-"
		if r.Finished() {
			dur, exit = r.Duration().Round(time.Millisecond).String(), strconv.Itoa(r.ExitCode)
		}
		bad := strings.Join(r.NotConverged(), ",")
		if bad == "" {
			bad = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.ID, r.Start.Local().Format(historyTime), dur,
			safe(r.Command), safe(r.Who), len(r.Hosts), safe(bad), safe(r.Outcome), exit)
	}
	_ = tw.Flush()
}

// printRun shows a run the way apply printed it.
func printRun(p *printer, r *history.Run) {
	w := p.w
	fmt.Fprintf(w, "%s\n", p.paint(bold, fmt.Sprintf("Run %d: %s by %s", r.ID, safe(r.Command), safe(r.Who))))
	if r.Finished() {
		fmt.Fprintf(w, "Started:   %s, took %s, %d %s\n", r.Start.Local().Format(historyTime),
			r.Duration().Round(time.Millisecond), r.Cycles, plural(r.Cycles, "cycle", "cycles"))
		fmt.Fprintf(w, "Outcome:   %s (exit %d)\n", safe(r.Outcome), r.ExitCode)
	} else {
		fmt.Fprintf(w, "Started:   %s, never finished\n", r.Start.Local().Format(historyTime))
		fmt.Fprintf(w, "Outcome:   %s\n", safe(r.Outcome))
	}
	fmt.Fprintf(w, "Manifests: %s (digest %.12s)\n", safe(strings.Join(r.Manifests, " ")), safe(r.Digest))
	for _, h := range r.Hosts {
		if len(h.Actions) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s\n", p.paint(bold, safe(h.Name)))
		for _, a := range h.Actions {
			mark, color := opMark(reconcilers.Op(a.Op))
			if a.Op == "" {
				mark = "!"
			}
			fmt.Fprintf(w, "  %s %s: %s ... %s\n", p.paint(color, mark), safe(a.Resource), safe(a.Description), p.status(a.Status))
			for _, l := range a.Lines {
				fmt.Fprintf(w, "      %s\n", p.diffLine(l))
			}
			if a.Error != "" {
				fmt.Fprintf(w, "      %s\n", safeBlock(a.Error, "      "))
			}
		}
	}
	if len(r.Hosts) == 0 {
		return
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tSTATE\tCHANGED\tFAILED\tSKIPPED\tROUND TRIPS\tREASON")
	for _, h := range r.Hosts {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\n", safe(h.Name), safe(h.State), h.Changed, h.Failed, h.Skipped, h.RoundTrips, safe(oneLine(h.Reason)))
	}
	_ = tw.Flush()
	fmt.Fprint(w, buf.String())
}

// status colours an action's status as apply does.
func (p *printer) status(s string) string {
	switch s {
	case string(controller.StatusOK):
		return p.paint(green, s)
	case string(controller.StatusFailed), history.StateUnconverged:
		return p.paint(red, strings.ToUpper(s))
	}
	return p.paint(yellow, safe(s))
}
