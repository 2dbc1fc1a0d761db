package daemon

import (
	"context"
	"time"

	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/history"
	"github.com/optimus-cm/optimus/internal/manifest"
	"github.com/optimus-cm/optimus/internal/record"
)

// openHistory opens the run history in the state directory. Recording is
// a record, not a duty: without a state directory, or when the database
// cannot be opened, the controller reconciles all the same and says why
// nothing is recorded. Runs are written in batches off the reconcile path;
// a batch that cannot be written is logged once.
func openHistory(opts Options) *history.Recorder {
	if opts.StateDir == "" {
		return nil
	}
	store, err := history.Open(context.Background(), opts.StateDir, history.Options{})
	if err != nil {
		opts.Logger.Error("run history disabled", "err", err)
		return nil
	}
	log := opts.Logger
	return history.NewRecorder(store, history.RecorderOptions{
		Manifests: []string{opts.Dir},
		OnError: func(err error, runs int) {
			log.Error("cannot record the run", "runs", runs, "err", err)
		},
		OnDrop: func(runs int) {
			log.Warn("run history falls behind; the oldest unrecorded runs were dropped", "runs", runs)
		},
	})
}

// recordRun queues one host's reconcile for the run history; it does not
// wait for the database.
func (d *Daemon) recordRun(_ context.Context, set *manifest.Set, host string, rep *controller.Report, err error, start time.Time, took time.Duration) {
	if d.history == nil {
		return
	}
	var run *history.Run
	if rep != nil {
		run = record.FromReport(history.CommandController, rep, nil)
	}
	if rerr := d.history.RecordHostReconcile(set, host, run, err, start, took); rerr != nil {
		d.log.Error("cannot record the run", "host", host, "err", rerr)
	}
}

// closeHistory writes the runs still queued, then closes the database, so
// that a stop loses no record.
func (d *Daemon) closeHistory() {
	if d.history != nil {
		_ = d.history.Close() // a failed batch was logged
		_ = d.history.Store().Close()
	}
}
