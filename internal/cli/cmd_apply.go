package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/history"
)

func newApplyCmd(cfg Config) *cobra.Command {
	var (
		f           = targetFlags{junit: true}
		hf          historyFlags
		yes         bool
		maxCycles   int
		retryFailed bool
		batches     []string
		maxFail     string
		sf          setFlags
		planFile    string
	)
	cmd := &cobra.Command{
		Use:   "apply -f PATH...",
		Short: "Make hosts match the manifests: observe, plan, confirm, act, until converged",
		Long: `Observe every selected host, show the plan, ask for confirmation, act, and
repeat until no host has anything left to do. Confirmation is asked once, for
the first plan; later cycles only finish converging to the same manifests, and
their plans are shown as they run.

Every run is recorded in the run history (see optimus history) after it
acted; a run history that cannot be opened stops apply before it touches a
host, and --no-history applies without it.

--retry-failed works only on the hosts that failed, were unreachable or did
not converge in the last apply of the same manifests, so the set shrinks with
every run until it is empty. "The same manifests" means the same desired
state (the manifests digest: every resource's spec and the files they copy),
not the same paths: a changed manifest set is a new rollout every host must
get, so it is applied with a plain apply, not retried.

Each host keeps, under /var/lib/optimus (root only), the inventory of what
the manifest set (--set, default the name of the first -f directory) holds
there. What left the manifests is listed after the run; --prune removes it
through its kind's absent state, in reverse dependency order, as part of the
plan ("-" lines). What existed before Optimus first managed it, and kinds
without an absent state (Exec, Service), are forgotten: dropped from the
inventory, kept on the host. A restart owed by a run that failed or was cut
short is recorded there too and runs in the next apply.

--plan FILE applies a plan saved by diff --out: the hosts are observed again
and, if anything differs from what the plan saw (or the manifests differ),
apply refuses with status 5, naming the hosts and resources, and changes
nothing. Otherwise it performs exactly the saved actions, then observes once
more to confirm convergence (status 4 if something is still left to do).

--batch stages acting: hosts are taken in manifest order (the first Host is
the canary) and acted on batch by batch, each batch converging before the
next starts; a percentage is of all the selected hosts, and the last size
repeats until every host had its turn. Observe still runs on every host at
once. --max-fail is the failure budget over the whole run: failed and
unreachable hosts both count; once more hosts failed than it allows, no new
host is acted on, hosts already acted on finish, and apply exits 3 naming the
hosts it never touched. --batch alone stops at the first failed host;
--max-fail 100% never stops.

Every observe and act round trip on a host has a deadline (the Host's
spec.timeouts; observe 2m and act 10m by default): when it passes, the
commands running there are stopped and the host fails with reason timeout.
The first SIGINT or SIGTERM stops the run: no new round trip starts and the
commands running on the hosts are sent SIGTERM; a second one kills them
(SIGKILL). An interrupted run prints, per host, what was done and what was
not, is recorded as interrupted, and is retried by --retry-failed.

Exit status: 0 converged (or no failed hosts to retry); 1 invalid manifests
or usage; 3 some hosts failed (quarantined) while the others converged, or
the failure budget stopped the rollout; 4 did not converge in --max-cycles; 5 the saved plan (--plan) no longer matches the
hosts or the manifests; 130 interrupted by SIGINT, 143 by SIGTERM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if maxCycles < 1 {
				return exitf(exitInvalid, "--max-cycles must be at least 1")
			}
			if retryFailed && hf.noHistory {
				return exitf(exitInvalid, "--retry-failed reads the run history; it cannot be used with --no-history")
			}
			rollout, err := parseRollout(batches, maxFail)
			if err != nil {
				return err
			}
			if planFile != "" && (retryFailed || sf.set != "" || sf.prune) {
				return exitf(exitInvalid, "--plan applies a saved plan as it is: it cannot be combined with --retry-failed, --set or --prune (the plan keeps its own)")
			}
			set, hosts, err := f.load(cmd, cfg)
			if err != nil {
				return err
			}
			var saved *savedPlan
			if planFile != "" {
				if saved, err = readSavedPlan(planFile, set); err != nil {
					return err
				}
				sf = setFlags{set: saved.Set, prune: saved.Prune}
			}
			inv, err := sf.inventory(cfg, f.files)
			if err != nil {
				return err
			}
			out, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
			sigs, ctx, stop := watchInterrupts(cmd.Context(), stderr, cfg.Name)
			defer stop()
			rec, err := openRecording(ctx, cfg, &hf, history.CommandApply, f.files, set)
			if err != nil {
				return &ExitError{Code: exitInvalid, Err: historyUnusable(err)}
			}
			if retryFailed {
				var done bool
				hosts, done, err = retryTargets(ctx, rec, hosts, f.selector, stderr)
				if err != nil || done {
					rec.close()
					return err
				}
			}
			if err := rec.begin(ctx); err != nil {
				return &ExitError{Code: exitInvalid, Err: historyUnusable(err)}
			}
			p := newPrinter(out)
			eng := &controller.Engine{Registry: cfg.Registry, Dial: cfg.dial(), Parallel: f.parallel, MaxCycles: maxCycles, Inventory: inv, Rollout: rollout,
				StopInFlight: true}
			if saved != nil {
				// Exactly the saved actions: one act phase, then one observe
				// that must find nothing left.
				eng.Expect = append([]controller.Observation{}, saved.Observed...)
				eng.MaxCycles = 1
			}
			prints := f.output == "text" || f.output == "wide"
			if prints {
				eng.Observer = planPrinter{p: p}
			}
			if !yes {
				eng.Confirm = confirmPrompt(cmd.InOrStdin(), stderr)
			}
			prog := newProgress(cmd.ErrOrStderr(), len(hosts), f.output != "json")
			prog.attach(eng, prints)
			report, err := eng.Run(ctx, hosts, set.Resources)
			prog.Stop()
			if err != nil {
				err = planStale(err)
				code := exitInvalid
				if ee, ok := err.(*ExitError); ok {
					code = ee.Code
				}
				rec.failed(ctx, code, stderr, cfg.Name)
				return err
			}
			code := sigs.code(report, applyExitCode(report))
			run := runRecord(history.CommandApply, report, set, f.output == "junit", code)
			switch f.output {
			case "json":
				err = writeJSON(out, report, code)
			case "junit":
				err = writeJUnit(out, "optimus apply", run)
			default:
				printApplyOutcome(p, report, f.output == "wide", sigs.signal())
			}
			rec.finish(ctx, run, stderr, cfg.Name)
			if err != nil {
				return err
			}
			if code != exitConverged {
				return &ExitError{Code: code}
			}
			return nil
		},
	}
	f.register(cmd)
	hf.register(cmd, true)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "act without asking for confirmation")
	cmd.Flags().IntVar(&maxCycles, "max-cycles", 5, "observe-act cycles before giving up")
	sf.register(cmd, "the first -f directory", "remove from the hosts what left the manifests (through each kind's absent state); without it, it is only listed")
	cmd.Flags().StringVar(&planFile, "plan", "", "apply exactly the plan saved by diff --out, refusing (status 5) if the hosts or manifests changed since")
	cmd.Flags().StringArrayVar(&batches, "batch", nil, "act in batches of N hosts or N% of them, canary first (repeatable or a list: 1,10%,50%,100%; the last size repeats)")
	cmd.Flags().StringVar(&maxFail, "max-fail", "", "failure budget over the whole run, N hosts or N% (failed and unreachable count); default 0 with --batch, 100% without")
	cmd.Flags().BoolVar(&retryFailed, "retry-failed", false, "only the hosts that failed, were unreachable or did not converge in the last apply of the same manifests")
	return cmd
}

// retryTargets narrows hosts to those that did not converge in the last
// recorded apply of the same manifests. done is true when there is nothing
// to retry: the command has then said so and succeeds.
func retryTargets(ctx context.Context, rec *recording, hosts []*v1alpha1.Host, selector string, stderr io.Writer) ([]*v1alpha1.Host, bool, error) {
	last, err := rec.store.LastFinished(ctx, history.CommandApply, rec.run.Digest)
	if err != nil {
		return nil, false, &ExitError{Code: exitInvalid, Err: err}
	}
	if last == nil {
		return nil, false, exitf(exitInvalid, "--retry-failed: no apply of these manifests is recorded in %s (manifests digest %.12s); run apply without --retry-failed",
			rec.store.Path(), rec.run.Digest)
	}
	failed := last.NotConverged()
	var targets []*v1alpha1.Host
	for _, h := range hosts {
		if slices.Contains(failed, h.Metadata.Name) {
			targets = append(targets, h)
		}
	}
	if len(targets) == 0 {
		if len(failed) > 0 && selector != "" {
			fmt.Fprintf(stderr, "no failed hosts in the last run (run %d) match the selector %q\n", last.ID, selector)
		} else {
			fmt.Fprintf(stderr, "no failed hosts in the last run (run %d)\n", last.ID)
		}
		return nil, true, nil
	}
	names := make([]string, len(targets))
	for i, h := range targets {
		names[i] = h.Metadata.Name
	}
	fmt.Fprintf(stderr, "retrying %d %s that did not converge in run %d: %s\n", len(targets), plural(len(targets), "host", "hosts"), last.ID, safe(fmt.Sprint(names)))
	return targets, false, nil
}

// parseRollout reads --batch and --max-fail; neither given is no rollout.
func parseRollout(batches []string, maxFail string) (*controller.Rollout, error) {
	if len(batches) == 0 && maxFail == "" {
		return nil, nil
	}
	ro := &controller.Rollout{}
	var err error
	if ro.Batches, err = controller.ParseBatches(batches); err != nil {
		return nil, exitf(exitInvalid, "--batch: %v", err)
	}
	if maxFail != "" {
		if ro.MaxFail, err = controller.ParseSize(maxFail); err != nil {
			return nil, exitf(exitInvalid, "--max-fail: %v", err)
		}
	}
	return ro, nil
}

func applyExitCode(r *controller.Report) int {
	switch {
	case len(r.Unconverged) > 0 || r.Interrupted || r.Declined:
		return exitUnconverged
	case r.Rollout != nil && r.Rollout.Stopped, len(r.Failed()) > 0:
		return exitHostsFailed
	}
	return exitConverged
}

// failedHostsLine says how many hosts failed, and that the others
// converged only when there are others.
func failedHostsLine(failed, hosts int) string {
	line := fmt.Sprintf("%d of %d %s failed (quarantined)", failed, hosts, plural(hosts, "host", "hosts"))
	switch others := hosts - failed; {
	case others == 1:
		return line + "; the other converged."
	case others > 1:
		return line + "; the others converged."
	}
	return line + "."
}

func printApplyOutcome(p *printer, r *controller.Report, wide bool, sig os.Signal) {
	switch {
	case r.Declined:
		fmt.Fprintln(p.w, "Nothing changed: the plan was not confirmed.")
	case r.Interrupted:
		printInterrupted(p, r, sig)
	case len(r.Unconverged) > 0:
		fmt.Fprintf(p.w, "Not converged after %d cycles; these resources kept changing:\n", r.Cycles-1)
		for _, u := range r.Unconverged {
			fmt.Fprintf(p.w, "  %s\n", safe(fmt.Sprint(u)))
		}
	case r.Rollout.StopMessage() != "":
		// Said after the summary, with the hosts left alone.
	case len(r.Failed()) > 0:
		fmt.Fprintln(p.w, failedHostsLine(len(r.Failed()), len(r.Hosts)))
	case r.Converged && len(r.Plans) == 0:
		fmt.Fprintln(p.w, "Nothing to do: every host has converged.")
	}
	printNotes(p, r)
	printPruneNotes(p, r)
	p.summary(r, wide)
	if msg := r.Rollout.StopMessage(); msg != "" {
		fmt.Fprintln(p.w, p.paint(red, safeBlock(msg, "  ")))
		if len(r.Rollout.Untouched) > 0 {
			fmt.Fprintf(p.w, "never touched: %s\n", safe(strings.Join(r.Rollout.Untouched, ", ")))
		}
	}
	fmt.Fprintf(p.w, "%d %s in %d %s, %s\n", len(r.Hosts), plural(len(r.Hosts), "host", "hosts"),
		r.Cycles, plural(r.Cycles, "cycle", "cycles"), r.Duration.Round(1e6))
}
