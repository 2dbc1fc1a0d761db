package history

import (
	"context"
	"sync"
	"time"

	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/manifest"
)

// Recorder writes one run per controller reconcile of a host.
type Recorder struct {
	store     *Store
	who       string
	manifests []string

	mu     sync.Mutex
	set    *manifest.Set // the set digest was computed for
	digest string
}

// NewRecorder records into store runs of the manifests at the given paths
// (the watched directory).
func NewRecorder(store *Store, manifests ...string) *Recorder {
	return &Recorder{store: store, who: Who(), manifests: manifests}
}

// Store is where the recorder writes.
func (r *Recorder) Store() *Store { return r.store }

// RecordHostReconcile records the reconcile of one host: the engine's
// report, or runErr when the engine could not run at all. The digest of a
// manifest set is computed once per set, not per host.
func (r *Recorder) RecordHostReconcile(ctx context.Context, set *manifest.Set, host string, rep *controller.Report, runErr error, start time.Time, took time.Duration) error {
	var run *Run
	if rep != nil {
		run = FromReport(CommandController, rep, nil)
	} else {
		run = &Run{Command: CommandController, Outcome: OutcomeHostsFailed}
	}
	if runErr != nil {
		run.Outcome = OutcomeHostsFailed
		if run.Host(host) == nil {
			run.Hosts = append(run.Hosts, Host{Name: host})
		}
		h := run.Host(host)
		h.State, h.Reason = StateFailed, runErr.Error()
	}
	for i := range run.Hosts {
		run.Hosts[i].Duration = took
	}
	run.Who, run.Start, run.End, run.Digest, run.Manifests = r.who, start, start.Add(took), r.digestOf(set), r.manifests
	run.ExitCode = controllerExitCode(run.Outcome)
	// Recording happens after acting and must not be lost to the shutdown
	// that cancelled the reconcile.
	return r.store.Finish(context.WithoutCancel(ctx), run)
}

func (r *Recorder) digestOf(set *manifest.Set) string {
	if set == nil {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.set != set {
		r.set, r.digest = set, Digest(set)
	}
	return r.digest
}

// controllerExitCode gives a controller run the exit status apply would
// have had, so that runs of both compare in one listing.
func controllerExitCode(outcome string) int {
	switch outcome {
	case OutcomeConverged:
		return 0
	case OutcomeHostsFailed:
		return 3
	}
	return 4
}
