package cli

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/optimus-cm/optimus/controller"
)

// Exit codes of apply.
const (
	exitConverged   = 0
	exitInvalid     = 1
	exitHostsFailed = 3
	exitUnconverged = 4
)

func newApplyCmd(cfg Config) *cobra.Command {
	var (
		f         targetFlags
		yes       bool
		maxCycles int
	)
	cmd := &cobra.Command{
		Use:   "apply -f PATH...",
		Short: "Make hosts match the manifests: observe, plan, confirm, act, until converged",
		Long: `Observe every selected host, show the plan, ask for confirmation, act, and
repeat until no host has anything left to do. Confirmation is asked once, for
the first plan; later cycles only finish converging to the same manifests, and
their plans are shown as they run.

Exit status: 0 converged; 1 invalid manifests or usage; 3 some hosts failed
(quarantined) while the others converged; 4 did not converge in --max-cycles.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if maxCycles < 1 {
				return exitf(exitInvalid, "--max-cycles must be at least 1")
			}
			set, hosts, err := f.load(cmd, cfg)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			out := cmd.OutOrStdout()
			p := newPrinter(out)
			eng := &controller.Engine{Registry: cfg.Registry, Parallel: f.parallel, MaxCycles: maxCycles}
			if f.output != "json" {
				eng.OnPlan = p.plan
				eng.OnActed = p.acted
			}
			if !yes {
				eng.Confirm = confirmPrompt(cmd.InOrStdin(), cmd.ErrOrStderr())
			}
			prog := newProgress(cmd.ErrOrStderr(), len(hosts), f.output != "json")
			prog.attach(eng)
			report, err := eng.Run(ctx, hosts, set.Resources)
			prog.Stop()
			if err != nil {
				return err
			}
			code := applyExitCode(report)
			if f.output == "json" {
				if err := writeJSON(out, report, code); err != nil {
					return err
				}
			} else {
				printApplyOutcome(p, report, f.output == "wide")
			}
			if code != 0 {
				return &ExitError{Code: code}
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "act without asking for confirmation")
	cmd.Flags().IntVar(&maxCycles, "max-cycles", 5, "observe-act cycles before giving up")
	return cmd
}

func applyExitCode(r *controller.Report) int {
	switch {
	case len(r.Unconverged) > 0 || r.Interrupted || r.Declined:
		return exitUnconverged
	case len(r.Failed()) > 0:
		return exitHostsFailed
	}
	return exitConverged
}

func printApplyOutcome(p *printer, r *controller.Report, wide bool) {
	switch {
	case r.Declined:
		fmt.Fprintln(p.w, "Nothing changed: the plan was not confirmed.")
	case r.Interrupted:
		fmt.Fprintln(p.w, "Interrupted: no new actions were started; actions already sent finished.")
	case len(r.Unconverged) > 0:
		fmt.Fprintf(p.w, "Not converged after %d cycles; these resources kept changing:\n", r.Cycles-1)
		for _, u := range r.Unconverged {
			fmt.Fprintf(p.w, "  %s\n", u)
		}
	case len(r.Failed()) > 0:
		failed := len(r.Failed())
		fmt.Fprintf(p.w, "%d of %d %s failed (quarantined); the others converged.\n", failed, len(r.Hosts), plural(len(r.Hosts), "host", "hosts"))
	case r.Converged && len(r.Plans) == 0:
		fmt.Fprintln(p.w, "Nothing to do: every host has converged.")
	}
	p.summary(r, wide)
	fmt.Fprintf(p.w, "%d %s in %d %s, %s\n", len(r.Hosts), plural(len(r.Hosts), "host", "hosts"),
		r.Cycles, plural(r.Cycles, "cycle", "cycles"), r.Duration.Round(1e6))
}
