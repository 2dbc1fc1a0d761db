package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/history"
	"github.com/optimus-cm/optimus/internal/manifest"
	"github.com/optimus-cm/optimus/internal/record"
)

// historyFlags are the flags of commands that read or write the run history.
type historyFlags struct {
	stateDir  string
	noHistory bool
}

func (h *historyFlags) register(cmd *cobra.Command, recording bool) {
	cmd.Flags().StringVar(&h.stateDir, "state-dir", "", "directory of the run history (default $XDG_STATE_HOME/NAME, i.e. ~/.local/state/NAME)")
	if recording {
		cmd.Flags().BoolVar(&h.noHistory, "no-history", false, "do not record this run (and do not open the run history at all)")
	}
}

// open opens the run history; nil without error under --no-history.
func (h *historyFlags) open(ctx context.Context, cfg Config) (*history.Store, error) {
	if h.noHistory {
		return nil, nil
	}
	dir := h.stateDir
	if dir == "" {
		d, err := history.DefaultDir(cfg.Name)
		if err != nil {
			return nil, err
		}
		dir = d
	}
	return history.Open(ctx, dir, history.Options{})
}

// historyUnusable explains what to do about a run history that cannot be
// used before a run.
func historyUnusable(err error) error {
	return fmt.Errorf("%w\nnothing was changed; a corrupt file can be moved aside to start a new history (a locked one is being written by another run), or pass --no-history to run without recording", err)
}

// recording is one run being written to the history; a nil recording
// records nothing.
type recording struct {
	store *history.Store
	run   *history.Run
}

// openRecording opens the history for a run of command over set. A
// history that cannot be opened stops the command before any host is
// touched; --no-history is the way around it. Nil under --no-history.
func openRecording(ctx context.Context, cfg Config, hf *historyFlags, command string, files []string, set *manifest.Set) (*recording, error) {
	store, err := hf.open(ctx, cfg)
	if err != nil || store == nil {
		return nil, err
	}
	run := &history.Run{Command: command, Who: history.Who(), Digest: history.Digest(set), Manifests: files}
	return &recording{store: store, run: run}, nil
}

// begin records that the run started, before any host is touched, so that
// a run killed midway shows as incomplete.
func (r *recording) begin(ctx context.Context) error {
	if r == nil {
		return nil
	}
	if err := r.store.Begin(ctx, r.run); err != nil {
		_ = r.store.Close()
		return err
	}
	return nil
}

// close closes a recording that was not begun.
func (r *recording) close() {
	if r != nil {
		_ = r.store.Close()
	}
}

// finish records the outcome. It runs after acting, so a failure to record
// is only reported: the hosts have changed, and the exit status must keep
// saying how they are.
func (r *recording) finish(ctx context.Context, rep *history.Run, stderr io.Writer, name string) {
	if r == nil {
		return
	}
	defer r.store.Close()
	rep.ID, rep.Command, rep.Who, rep.Digest, rep.Manifests, rep.Start = r.run.ID, r.run.Command, r.run.Who, r.run.Digest, r.run.Manifests, r.run.Start
	if err := r.store.Finish(context.WithoutCancel(ctx), rep); err != nil {
		fmt.Fprintf(stderr, "%s: warning: this run was not recorded: %v\n", name, err)
	}
}

// failed records a run that stopped on an error before changing anything.
func (r *recording) failed(ctx context.Context, code int, stderr io.Writer, name string) {
	r.finish(ctx, &history.Run{Outcome: history.OutcomeError, ExitCode: code}, stderr, name)
}

// runRecord turns a report into a record, with the resources that target
// each host when a report needs them (JUnit lists every resource).
func runRecord(command string, rep *controller.Report, set *manifest.Set, withResources bool, code int) *history.Run {
	var resources map[string][]string
	if withResources {
		resources = map[string][]string{}
		for _, h := range set.Hosts() {
			for _, res := range set.ForHost(h) {
				resources[h.Metadata.Name] = append(resources[h.Metadata.Name], res.ID())
			}
		}
	}
	run := record.FromReport(command, rep, resources)
	run.ExitCode = code
	return run
}
