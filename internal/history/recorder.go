package history

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/optimus-cm/optimus/internal/manifest"
)

// Recorder defaults: a batch is written at most this long after its first
// run was queued, or as soon as it holds this many runs; past the bound,
// the oldest queued runs are dropped.
const (
	DefaultFlushInterval = 500 * time.Millisecond
	DefaultBatchSize     = 256
	DefaultMaxQueued     = 10_000
)

// ErrClosed is returned for a run handed to a closed Recorder.
var ErrClosed = errors.New("run history recorder closed")

// RecorderOptions tune a Recorder.
type RecorderOptions struct {
	// Manifests are the paths the recorded runs are of (the watched
	// directory).
	Manifests []string
	// FlushInterval bounds how long a run waits in the queue; 0 means
	// DefaultFlushInterval.
	FlushInterval time.Duration
	// BatchSize is the queue length that writes a batch at once; 0 means
	// DefaultBatchSize.
	BatchSize int
	// MaxQueued bounds the queue; 0 means DefaultMaxQueued.
	MaxQueued int
	// OnError is told, once per batch, why the batch was not recorded and
	// how many runs it held. It is called from the writer; nil ignores it.
	OnError func(err error, runs int)
	// OnDrop is told, before the next batch is written, how many of the
	// oldest runs were dropped because the writer fell behind. Nil ignores
	// it; Dropped counts them all the same.
	OnDrop func(runs int)
}

func (o *RecorderOptions) defaults() {
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = DefaultMaxQueued
	}
}

// Recorder writes one run per controller reconcile of a host. A reconcile
// never waits for the database: its run is queued, and a background writer
// records everything queued in one transaction (group commit), with
// retention applied once per batch. Recording is a record, not a duty: when
// the writer falls behind, the oldest queued runs are dropped and counted.
// Close writes what is still queued.
type Recorder struct {
	store *Store
	who   string
	opts  RecorderOptions

	mu     sync.Mutex
	set    *manifest.Set // the set digest was computed for
	digest string

	// qmu guards the queue and the writer's life.
	qmu     sync.Mutex
	queue   []*Run
	dropped int // since the last batch
	started bool
	closed  bool

	// writeMu makes batches one at a time, each taking the whole queue, so
	// that runs get their IDs in the order they were queued.
	writeMu sync.Mutex
	spare   []*Run // the last batch's slice, reused for the queue

	droppedTotal atomic.Int64

	queued chan struct{} // the queue was empty and has a run
	full   chan struct{} // the queue holds a batch
	stop   chan struct{}
	done   chan struct{}
}

// NewRecorder records runs into store. The writer starts with the first
// run; Close stops it. The store stays open.
func NewRecorder(store *Store, opts RecorderOptions) *Recorder {
	opts.defaults()
	return &Recorder{
		store: store, who: Who(), opts: opts,
		queued: make(chan struct{}, 1), full: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
}

// Store is where the recorder writes. It first writes what is queued, so
// that a reader of the store sees every run handed to the recorder so far.
func (r *Recorder) Store() *Store {
	_ = r.Flush() // a failed batch is told to OnError
	return r.store
}

// Dropped is the number of runs dropped because the writer fell behind.
func (r *Recorder) Dropped() int64 { return r.droppedTotal.Load() }

// RecordHostReconcile queues the record of the reconcile of one host: run
// (made from the engine's report), or runErr when the engine could not run
// at all (run nil). It does
// not wait for the database. The digest of a manifest set is computed once
// per set, not per host.
func (r *Recorder) RecordHostReconcile(set *manifest.Set, host string, run *Run, runErr error, start time.Time, took time.Duration) error {
	if run == nil {
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
	run.Who, run.Start, run.End, run.Digest, run.Manifests = r.who, start, start.Add(took), r.digestOf(set), r.opts.Manifests
	run.ExitCode = controllerExitCode(run.Outcome)
	return r.enqueue(run)
}

func (r *Recorder) enqueue(run *Run) error {
	r.qmu.Lock()
	defer r.qmu.Unlock()
	if r.closed {
		return ErrClosed
	}
	if !r.started {
		r.started = true
		go r.writer()
	}
	if len(r.queue) >= r.opts.MaxQueued {
		r.queue[0] = nil
		r.queue = r.queue[1:]
		r.dropped++
		r.droppedTotal.Add(1)
	}
	r.queue = append(r.queue, run)
	switch len(r.queue) {
	case 1:
		signal(r.queued)
	case r.opts.BatchSize:
		signal(r.full)
	}
	return nil
}

// signal wakes the writer without waiting for it: one pending wake-up is
// enough, and a stale one costs at most an early or empty batch.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// writer is the background writer: it waits for a first queued run, lets
// a batch gather until it is full or the interval has passed, writes it,
// and starts over.
func (r *Recorder) writer() {
	defer close(r.done)
	gather := time.NewTimer(r.opts.FlushInterval)
	gather.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-r.queued:
		}
		gather.Reset(r.opts.FlushInterval)
		select {
		case <-r.stop:
			gather.Stop()
			return // Close writes the rest
		case <-r.full:
		case <-gather.C:
		}
		gather.Stop()
		_ = r.writeQueued() // told to OnError
	}
}

// Flush writes what is queued now and returns when it is recorded.
func (r *Recorder) Flush() error { return r.writeQueued() }

// Close writes what is queued and stops the writer; runs handed to the
// recorder afterwards are refused with ErrClosed. It does not close the
// store. Call it before closing the store, so that a stop loses no record.
func (r *Recorder) Close() error {
	r.qmu.Lock()
	started, already := r.started, r.closed
	r.closed = true
	r.qmu.Unlock()
	if started && !already {
		close(r.stop)
		<-r.done
	}
	return r.writeQueued()
}

func (r *Recorder) writeQueued() error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	r.qmu.Lock()
	batch, dropped := r.queue, r.dropped
	r.queue, r.dropped = r.spare[:0], 0
	r.qmu.Unlock()
	defer func() {
		clear(batch) // the runs are no longer ours to keep alive
		r.spare = batch
	}()
	if dropped > 0 && r.opts.OnDrop != nil {
		r.opts.OnDrop(dropped)
	}
	if len(batch) == 0 {
		return nil
	}
	// Not the reconciles' context: the record outlives the shutdown that
	// cancelled them.
	err := r.store.Record(context.Background(), batch...)
	if err != nil && r.opts.OnError != nil {
		r.opts.OnError(err, len(batch))
	}
	return err
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
