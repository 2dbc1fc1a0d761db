package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

func newRolloutCmd(_ Config) *cobra.Command {
	var (
		src    statusSource
		output string
	)
	cmd := &cobra.Command{
		Use:   "rollout status|resume|abort",
		Short: "Show, resume or abort optimus-controller's current rollout",
		Long: `A manifest change under a RolloutPolicy goes out batch by batch; the
hosts not yet rolled keep, and are drift-corrected to, their previous
generation. status shows the rollout; resume continues a halted or aborted
rollout with its next batch, accepting the failures so far; abort starts no
new batch (the hosts not yet rolled stay on the previous generation until
the next manifest change). resume and abort need a token with write scope
when the controller has tokens (--token-file). An HTTPS controller is reached
with --controller https://HOST:PORT, and --controller-ca-file FILE when its
certificate is signed by a CA this machine does not trust.

Exit status: 0 done; 1 no rollout, refused, or the controller cannot be
reached; status exits 3 when the rollout is halted.`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"status", "resume", "abort"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if src.stateDir != "" {
				return exitf(exitInvalid, "rollout asks the controller: --state-dir does not hold the rollout")
			}
			if output != "" && output != "json" {
				return exitf(exitInvalid, "--output must be json, not %q", output)
			}
			method, path := http.MethodPost, "/api/v1/rollout/"+args[0]
			switch args[0] {
			case "status":
				method, path = http.MethodGet, "/api/v1/rollout"
			case "resume", "abort":
			default:
				return exitf(exitInvalid, "unknown rollout action %q: use status, resume or abort", args[0])
			}
			st, err := src.rollout(method, path)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(st); err != nil {
					return err
				}
			} else {
				printRollout(out, st)
			}
			if args[0] == "status" && st.Phase == v1alpha1.RolloutHalted {
				return &ExitError{Code: exitHostsFailed}
			}
			return nil
		},
	}
	src.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json")
	return cmd
}

// rollout calls the controller's rollout API.
func (s *statusSource) rollout(method, path string) (*v1alpha1.RolloutStatus, error) {
	resp, err := s.call(method, path, 10*time.Second)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		msg := strings.TrimSpace(string(body))
		if resp.StatusCode == http.StatusUnauthorized {
			msg = "a token is required: pass --token-file FILE with a token of its --auth-token-file"
		}
		return nil, exitf(exitFailed, "optimus-controller at %s: %s", s.controller, msg)
	}
	var st v1alpha1.RolloutStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, exitf(exitFailed, "optimus-controller at %s: bad rollout status: %v", s.controller, err)
	}
	return &st, nil
}

func printRollout(w io.Writer, st *v1alpha1.RolloutStatus) {
	fmt.Fprintf(w, "Rollout %s (from %s): %s, batch %d of %d, started %s\n", safe(st.Generation), safe(orNone(st.Previous)), safe(string(st.Phase)), st.Batch, st.Batches, ago(st.StartedAt))
	fmt.Fprintf(w, "Hosts: %d done, %d failed (budget %s), %d kept on the previous generation\n", st.Done, st.Failed, st.Budget, st.Pending)
	for i, b := range st.Hosts {
		fmt.Fprintf(w, "  batch %d: %s\n", i+1, safe(strings.Join(b, ", ")))
	}
	for _, f := range st.Failures {
		if len(f.Resources) == 0 {
			fmt.Fprintf(w, "Failed %s: %s\n", safe(f.Host), safe(f.Reason))
			continue
		}
		fmt.Fprintf(w, "Failed %s:\n", safe(f.Host))
		for _, r := range f.Resources {
			fmt.Fprintf(w, "  %s\n", safe(fmt.Sprint(r)))
		}
	}
}
