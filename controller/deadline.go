package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/optimus-cm/optimus/transport"
)

// deadlineSlack is added to the timeouts an act batch's actions declare
// (Exec's), so that an action's own timeout, not the batch's, ends it.
const deadlineSlack = 30 * time.Second

// observeContext bounds one observe round trip on r's host.
func observeContext(ctx context.Context, r *hostRun) (context.Context, context.CancelFunc) {
	d := r.host.Spec.ObserveTimeout()
	return context.WithTimeoutCause(ctx, d, fmt.Errorf("observe deadline of %s passed (spec.timeouts.observe of Host %s)", d, r.host.Metadata.Name))
}

// actContext bounds one act round trip that carries the actions planned[i]
// for which sent(i) is true. The batch is cancelled with ctx when the engine
// stops in-flight work on an interrupt, and outlives it otherwise.
func (e *Engine) actContext(ctx context.Context, r *hostRun, sent func(i int) bool) (context.Context, context.CancelFunc) {
	d := r.host.Spec.ActTimeout()
	var own time.Duration
	for i, pa := range r.plan {
		if sent(i) {
			own += pa.Timeout
		}
	}
	if own > 0 && own+deadlineSlack > d {
		d = own + deadlineSlack
	}
	if !e.StopInFlight {
		ctx = context.WithoutCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, d, fmt.Errorf("act deadline of %s passed (spec.timeouts.act of Host %s, or the timeouts of its Exec actions)", d, r.host.Metadata.Name))
}

// stopCause is why a failed batch was stopped on purpose (its deadline
// passed, or the run was interrupted), or nil when it failed by itself.
// Call it before cancelling batch.
func stopCause(err error, batch context.Context) error {
	if err == nil {
		return nil
	}
	if batch.Err() != nil {
		return context.Cause(batch)
	}
	var ce *transport.ConnectError
	if errors.As(err, &ce) && ce.Reason == transport.ReasonTimeout {
		return ce.Err
	}
	return nil
}

// interrupted records that the run stopped r's host before it was done.
func (r *hostRun) interrupt(err error) {
	if r.interrupted == nil {
		r.interrupted = err
	}
}

// cut records an act batch that was stopped midway: the commands that
// finished before it (partial) keep their outcome, the one that was running
// failed (it may have partly run), and the rest never started. A deadline
// quarantines the host; an interrupt marks it interrupted.
func (e *Engine) cut(ctx context.Context, r *hostRun, err, why error, partial []transport.Result, slot []int, sent func(i int) bool) {
	e.broken(r)
	for i := range r.plan {
		pa := &r.plan[i]
		if pa.Status != StatusPlanned || !sent(i) || slot[i] < 0 {
			continue
		}
		switch s := slot[i]; {
		case s < len(partial):
			e.record(r, pa, partial[s])
		case s == len(partial):
			pa.Status, pa.Err = StatusFailed, fmt.Errorf("stopped while running (%w); it may have partly run", why)
			r.failed++
		default:
			pa.Status, pa.Err = StatusNotRun, fmt.Errorf("not run: %w", why)
		}
	}
	if ctx.Err() != nil {
		r.interrupt(err)
		return
	}
	if r.quarantine == nil {
		r.quarantine = fmt.Errorf("act: %w", err)
	}
}

// record sets a planned action's status from its command's result.
func (e *Engine) record(r *hostRun, pa *PlannedAction, res transport.Result) {
	switch {
	case res.Skipped:
		pa.Status, pa.Err = StatusSkipped, ErrDependencyFailed
		r.skipped++
	case res.ExitCode != 0:
		pa.Status, pa.Err = StatusFailed, newActionError(res)
		r.failed++
	default:
		pa.Status = StatusOK
		r.changed++
		r.changedRefs[pa.Resource] = true
	}
}
