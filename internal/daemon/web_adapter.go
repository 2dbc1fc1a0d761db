package daemon

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/history"
	"github.com/optimus-cm/optimus/internal/web"
)

// newStatusPage builds the status page served at / and checks that a
// listener reachable from other machines is protected by tokens.
func newStatusPage(d *Daemon) (*web.Server, error) {
	var tokens *web.Tokens
	if d.opts.AuthTokenFile != "" {
		t, err := web.LoadTokens(d.opts.AuthTokenFile)
		if err != nil {
			return nil, err
		}
		tokens = t
	} else if d.opts.Listen != "" && !web.IsLoopback(d.opts.Listen) {
		return nil, fmt.Errorf("--listen %s accepts connections from other machines, which would see the fleet's status "+
			"unauthenticated: listen on 127.0.0.1, or pass --auth-token-file FILE "+
			"(one token per line; append \" write\" to allow reconcile now)", d.opts.Listen)
	}
	return web.New(web.Options{Source: d.web, Tokens: tokens, Logger: d.log})
}

// webSource feeds the status page from the daemon's status tracker, and
// keeps what the tracker does not: the last actions of each host and when
// each resource last changed there.
type webSource struct {
	d *Daemon

	mu   sync.Mutex
	runs map[string]*hostRuns
}

type hostRuns struct {
	actions []web.Action
	changed map[v1alpha1.ResourceRef]time.Time
}

var (
	_ web.Source     = &webSource{}
	_ web.Reconciler = &webSource{}
	_ web.RunHistory = &webSource{}
)

func newWebSource(d *Daemon) *webSource {
	return &webSource{d: d, runs: map[string]*hostRuns{}}
}

// Subscribe implements web.Source: a value whenever the tracker reports a
// change. The tracker already batches updates, and a pending value stands
// for every change after it.
func (w *webSource) Subscribe(ctx context.Context) <-chan struct{} {
	updates, cancel := w.d.status.Subscribe()
	// In replica mode the hosts of other replicas change in the merged
	// view, not in the tracker.
	var merged <-chan struct{}
	cancelMerged := func() {}
	if w.d.fleet != nil {
		merged, cancelMerged = w.d.fleet.subscribe()
	}
	ch := make(chan struct{}, 1)
	go func() {
		defer close(ch)
		defer cancel()
		defer cancelMerged()
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-updates:
				if !ok {
					return
				}
			case <-merged:
			}
			select {
			case ch <- struct{}{}:
			default: // a change is already pending for this subscriber
			}
		}
	}()
	return ch
}

// Reconcile implements web.Reconciler: it queues the host now, ahead of
// its backoff.
func (w *webSource) Reconcile(host string) error {
	w.d.mu.Lock()
	_, ok := w.d.desired[host]
	w.d.mu.Unlock()
	if !ok {
		return errors.New("not a host of the current manifests")
	}
	w.d.q.Add(host, priorityChange) // someone is waiting for it: ahead of resync work
	return nil
}

// recordRun keeps the actions of a reconcile that had any. The report's
// descriptions, changes and errors are already redacted by the engine.
func (w *webSource) recordRun(host string, rep *controller.Report, at time.Time) {
	if rep == nil {
		return
	}
	var actions []web.Action
	var changed []v1alpha1.ResourceRef
	for _, p := range rep.Plans {
		for _, hp := range p.Hosts {
			if hp.Host != host {
				continue
			}
			for _, a := range hp.Actions {
				wa := web.Action{Cycle: p.Cycle, Resource: a.Resource.String(), Op: string(a.Op), Description: a.Description,
					Status: string(a.Status), Error: a.ErrorText(), At: at}
				for _, c := range a.Changes {
					wa.Changes = append(wa.Changes, web.Change{Field: c.Field, Before: c.Before, After: c.After})
				}
				if a.Diff != "" {
					wa.Diff = strings.Split(strings.TrimRight(a.Diff, "\n"), "\n")
				}
				actions = append(actions, wa)
				if a.Status == controller.StatusOK {
					changed = append(changed, a.Resource)
				}
			}
		}
	}
	if len(actions) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	hr := w.runs[host]
	if hr == nil {
		hr = &hostRuns{changed: map[v1alpha1.ResourceRef]time.Time{}}
		w.runs[host] = hr
	}
	hr.actions = actions
	for _, ref := range changed {
		hr.changed[ref] = at
	}
	// Hosts that left the manifests are forgotten once they are more than
	// the fleet has: a walk now and then, never per page.
	if len(w.runs) > 2*w.d.status.Counts().Hosts+16 {
		for name := range w.runs {
			if _, ok := w.d.status.Host(name); !ok {
				delete(w.runs, name)
			}
		}
	}
}

// HostRuns implements web.RunHistory from the run history, which the
// host page reads when it is rendered.
func (w *webSource) HostRuns(ctx context.Context, host string, n int) ([]web.Run, error) {
	if w.d.history == nil {
		return nil, nil // not recorded: the page shows no history
	}
	runs, err := w.d.history.Store().List(ctx, history.Filter{Host: host, Limit: n})
	if err != nil {
		return nil, fmt.Errorf("runs of %s: %w", host, err)
	}
	out := make([]web.Run, 0, len(runs))
	for _, r := range runs {
		wr := web.Run{Start: r.Start, Duration: r.Duration(), Cycles: r.Cycles, Result: r.Outcome}
		for _, h := range r.Hosts {
			if h.Name != host {
				continue
			}
			wr.Changed, wr.Failed, wr.Result, wr.Reason = h.Changed, h.Failed, h.State, h.Reason
			if h.Duration > 0 {
				wr.Duration = h.Duration
			}
		}
		if !r.Finished() {
			wr.Result = history.OutcomeIncomplete
		}
		out = append(out, wr)
	}
	return out, nil
}

// webRollout is the rollout as /api/v1/rollout serves it, for the fleet
// page; nil when there is none.
func webRollout(st *v1alpha1.RolloutStatus) *web.Rollout {
	if st == nil {
		return nil
	}
	wr := &web.Rollout{Generation: st.Generation, Previous: st.Previous, Phase: st.Phase, Batch: st.Batch, Batches: st.Batches,
		Done: st.Done, Failed: st.Failed, Pending: st.Pending, Budget: st.Budget, Message: st.Message}
	for _, b := range st.Hosts {
		wr.Total += len(b)
	}
	for _, f := range st.Failures {
		wr.Failures = append(wr.Failures, web.RolloutFailure{Host: f.Host, Resources: f.Resources, Reason: f.Reason})
	}
	return wr
}

// hostState reduces a host's conditions to the one state the page shows:
// quarantine first, since a quarantined host is retried (Reconciling) often;
// a Ready host re-observed for drift at the generation it converged to
// stays Ready, so a resync does not flip the whole fleet to Reconciling.
func hostState(hs *v1alpha1.HostStatus) (web.State, string) {
	ready := v1alpha1.FindCondition(hs.Conditions, v1alpha1.ConditionReady)
	rec := v1alpha1.FindCondition(hs.Conditions, v1alpha1.ConditionReconciling)
	switch {
	case isTrue(hs.Conditions, v1alpha1.ConditionQuarantined):
		return web.StateQuarantined, hs.LastError
	case rec != nil && rec.Status == v1alpha1.ConditionTrue &&
		!(ready != nil && ready.Status == v1alpha1.ConditionTrue && ready.ObservedGeneration == rec.ObservedGeneration):
		if ready != nil && ready.Status == v1alpha1.ConditionFalse {
			return web.StateReconciling, ready.Message
		}
		return web.StateReconciling, ""
	case ready == nil:
		return web.StatePending, "not reconciled yet"
	case ready.Status == v1alpha1.ConditionTrue:
		return web.StateReady, ""
	}
	return web.StateUnconverged, ready.Message
}

func webConditions(cs []v1alpha1.Condition) []web.Condition {
	out := make([]web.Condition, len(cs))
	for i, c := range cs {
		out[i] = web.Condition{Type: c.Type, Status: string(c.Status), Reason: c.Reason, Message: c.Message, Since: c.LastTransitionTime}
	}
	return out
}

// configOf reads ConfigValid; its message holds one manifest error per
// line, each "file:line: ..." when the error has a place.
func configOf(cs []v1alpha1.Condition) web.Config {
	c := v1alpha1.FindCondition(cs, v1alpha1.ConditionConfigValid)
	if c == nil {
		return web.Config{}
	}
	cfg := web.Config{Known: true, Valid: c.Status == v1alpha1.ConditionTrue, Message: c.Message, Since: c.LastTransitionTime}
	if cfg.Valid {
		return cfg
	}
	for _, line := range strings.Split(c.Message, "\n") {
		place, rest, ok := strings.Cut(line, ": ")
		if i := strings.LastIndexByte(place, ':'); ok && i > 0 {
			if _, err := strconv.Atoi(place[i+1:]); err == nil {
				cfg.Errors = append(cfg.Errors, web.ConfigError{Location: place, Message: rest})
				continue
			}
		}
		cfg.Errors = append(cfg.Errors, web.ConfigError{Message: line})
	}
	return cfg
}
