package cli

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/history"
)

func newDiffCmd(cfg Config) *cobra.Command {
	var (
		f       = targetFlags{junit: true}
		hf      historyFlags
		sf      setFlags
		outFile string
	)
	cmd := &cobra.Command{
		Use:   "diff -f PATH...",
		Short: "Show what apply would change, without changing anything",
		Long: `Observe every selected host read-only and print the actions apply would take.
The run is recorded in the run history (see optimus history) unless
--no-history is given.

--out FILE saves the plan with a digest of what was observed on each host
and of each resource's planned actions, for apply --plan. The file holds no
secret. --prune shows (and saves) the removals apply --prune would make;
without it, what left the manifests is listed after the plan.

Each observe round trip on a host has a deadline (the Host's
spec.timeouts.observe, 2m by default); SIGINT or SIGTERM stops the run and
the commands running on the hosts (see optimus apply --help).

Exit status, as kubectl diff: 0 no differences; 1 differences found;
2 or more an error (invalid manifests, an unreachable host); 130 interrupted
by SIGINT, 143 by SIGTERM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			set, hosts, err := f.load(cmd, cfg)
			if err != nil {
				return asDiffError(err)
			}
			inv, err := sf.inventory(cfg, f.files)
			if err != nil {
				return asDiffError(err)
			}
			stderr := cmd.ErrOrStderr()
			sigs, ctx, stop := watchInterrupts(cmd.Context(), stderr, cfg.Name)
			defer stop()
			rec, err := openRecording(cmd.Context(), cfg, &hf, history.CommandDiff, f.files, set)
			if err == nil {
				err = rec.begin(cmd.Context())
			}
			if err != nil {
				return &ExitError{Code: exitDiffError, Err: historyUnusable(err)}
			}
			eng := &controller.Engine{Registry: cfg.Registry, Dial: cfg.dial(), Parallel: f.parallel, DryRun: true, Inventory: inv}
			keeper := &observationKeeper{}
			eng.Observer = keeper
			prog := newProgress(cmd.ErrOrStderr(), len(hosts), f.output != "json")
			prog.attach(eng, false)
			report, err := eng.Run(ctx, hosts, set.Resources)
			prog.Stop()
			if err != nil {
				rec.failed(cmd.Context(), 2, stderr, cfg.Name)
				return &ExitError{Code: exitDiffError, Err: err}
			}
			code := exitOK
			switch {
			case len(report.Failed()) > 0:
				code = exitDiffError
			case len(report.Plans) > 0:
				code = exitDiffers
			}
			code = sigs.code(report, code)
			run := runRecord(history.CommandDiff, report, set, f.output == "junit", code)
			out := cmd.OutOrStdout()
			if outFile != "" && report.Interrupted {
				fmt.Fprintf(stderr, "%s: the plan was not saved: the run was interrupted\n", cfg.Name)
			} else if outFile != "" && code == exitDiffError {
				fmt.Fprintf(stderr, "%s: the plan was not saved: a host could not be observed or planned\n", cfg.Name)
			} else if outFile != "" {
				sp := &savedPlan{Version: savedPlanVersion, Manifests: history.Digest(set), Files: f.files, Created: time.Now().UTC(),
					Who: history.Who(), Observed: keeper.obs}
				if inv != nil {
					sp.Set, sp.Prune = inv.Set, inv.Prune
				}
				if len(report.Plans) > 0 {
					sp.Plan, _ = json.Marshal(report.Plans[0])
				}
				if err := writeSavedPlan(outFile, sp); err != nil {
					rec.failed(cmd.Context(), 2, stderr, cfg.Name)
					return &ExitError{Code: exitDiffError, Err: err}
				}
				defer printSaved(stderr, outFile, len(keeper.obs))
			}
			switch f.output {
			case "json":
				err = writeJSON(out, report, code)
			case "junit":
				err = writeJUnit(out, "optimus diff", run)
			default:
				p := newPrinter(out)
				for _, plan := range report.Plans {
					p.plan(plan)
				}
				switch {
				case report.Interrupted:
					printInterrupted(p, report, sigs.signal())
				case code == exitDiffError:
					failed := len(report.Failed())
					fmt.Fprintf(out, "Cannot tell: %d %s could not be observed or planned.\n", failed, plural(failed, "host", "hosts"))
					p.summary(report, f.output == "wide")
				case len(report.Plans) == 0:
					fmt.Fprintln(out, "No differences: every host matches the manifests.")
				}
				printNotes(p, report)
				printPruneNotes(p, report)
			}
			rec.finish(cmd.Context(), run, stderr, cfg.Name)
			if err != nil {
				return err
			}
			if code != exitOK {
				return &ExitError{Code: code}
			}
			return nil
		},
	}
	f.register(cmd)
	hf.register(cmd, true)
	sf.register(cmd, "the first -f directory", "plan (and with --out save) the removals apply --prune would make; without it, what left the manifests is only listed")
	cmd.Flags().StringVar(&outFile, "out", "", "save the plan, with a digest of what was observed, for apply --plan")
	return cmd
}

// asDiffError maps invalid input to diff's error status (2), since 1 means
// "differences" there.
func asDiffError(err error) error {
	if ee, ok := err.(*ExitError); ok {
		return &ExitError{Code: exitDiffError, Err: ee.Err}
	}
	return &ExitError{Code: exitDiffError, Err: err}
}

// observationKeeper keeps the first cycle's observation, what a saved plan
// records.
type observationKeeper struct {
	controller.NopObserver
	obs []controller.Observation
}

func (k *observationKeeper) Observed(obs []controller.Observation) { k.obs = obs }
