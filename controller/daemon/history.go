package daemon

import (
	"context"
	"time"

	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/history"
	"github.com/optimus-cm/optimus/manifest"
)

// openHistory opens the run history in the state directory. Recording is
// a record, not a duty: without a state directory, or when the database
// cannot be opened, the controller reconciles all the same and says why
// nothing is recorded.
func openHistory(opts Options) *history.Recorder {
	if opts.StateDir == "" {
		return nil
	}
	store, err := history.Open(context.Background(), opts.StateDir, history.Options{})
	if err != nil {
		opts.Logger.Error("run history disabled", "err", err)
		return nil
	}
	return history.NewRecorder(store, opts.Dir)
}

// recordRun writes one host's reconcile to the run history.
func (d *Daemon) recordRun(ctx context.Context, set *manifest.Set, host string, rep *controller.Report, err error, start time.Time, took time.Duration) {
	if d.history == nil {
		return
	}
	if rerr := d.history.RecordHostReconcile(ctx, set, host, rep, err, start, took); rerr != nil {
		d.log.Error("cannot record the run", "host", host, "err", rerr)
	}
}

func (d *Daemon) closeHistory() {
	if d.history != nil {
		_ = d.history.Store().Close()
	}
}
