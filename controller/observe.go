package controller

import (
	"context"
	"fmt"
	"slices"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// connect opens (or, with a Pool, reuses) the host's connection.
func (e *Engine) connect(ctx context.Context, r *hostRun, dial DialFunc) error {
	if e.Pool == nil {
		conn, err := dial(ctx, r.host)
		if err != nil {
			return err
		}
		r.conn, r.connects = conn, r.connects+1
		return nil
	}
	conn, fresh, err := e.Pool.get(ctx, r.host, dial)
	if err != nil {
		return err
	}
	r.conn = conn
	if fresh {
		r.connects++
	}
	return nil
}

// broken forgets a connection that failed, so the next run dials again.
func (e *Engine) broken(r *hostRun) {
	if e.Pool != nil {
		e.Pool.Drop(r.host.Metadata.Name)
	}
}

// observe reads the host in one round trip and plans every resource on it.
func (e *Engine) observe(ctx context.Context, r *hostRun, dial DialFunc, red *redactor) {
	r.plan, r.planErr, r.planNotes = nil, nil, nil
	// With an inventory, a host that no longer has any resource is still
	// read: what it held may have to be pruned.
	if len(r.resources) == 0 && r.inv == nil {
		return
	}
	if r.conn == nil {
		if err := e.open(ctx, r, dial); err != nil {
			if ctx.Err() == nil {
				r.quarantine = err
			} else {
				r.interrupt(fmt.Errorf("not observed: %w", context.Cause(ctx)))
			}
			return
		}
	}

	queries, keys, kindErr := e.queries(r.host, r.resources)
	invAt := len(queries)
	queries = append(queries, r.inv.queries()...)
	facts := reconcilers.NewFacts(nil)
	if len(queries) > 0 {
		got, err := e.queryRegaining(ctx, r, dial, queries)
		if err != nil {
			return
		}
		for i, k := range keys {
			facts.Add(k.scope, k.key, got[i])
		}
		r.observed = observationDigest(queries, got)
		if r.inv != nil {
			if err := r.inv.read(got[invAt]); err != nil {
				r.quarantine = err
				return
			}
		}
	}
	var hostFacts *v1alpha1.HostFacts
	byFacts := selectsByFacts(r.resources)
	if byFacts {
		hf, err := reconcilers.HostFactsOf(facts)
		if err != nil {
			r.quarantine = fmt.Errorf("observe: %w", err)
			return
		}
		hostFacts = hf
	}
	changing := map[v1alpha1.ResourceRef]bool{}
	// blocked holds the resources that failed to plan and, since resources
	// come in dependency order, everything that depends on one of them.
	blocked := map[v1alpha1.ResourceRef]bool{}
	views := map[string]*reconcilers.Facts{}
	for _, res := range r.resources {
		if t := res.Targeting(); byFacts && t != nil && !t.HostSelector.MatchesFacts(hostFacts) {
			continue // hostSelector.matchFacts: not for this host
		}
		rec, _ := e.Registry.For(res.Kind)
		view := views[res.Kind]
		if view == nil {
			view = facts.For(res.Kind)
			views[res.Kind] = view
		}
		req := reconcilers.Request{Host: r.host, Resource: res, Facts: view}
		err := kindErr[res.Kind]
		var actions []reconcilers.Action
		if err == nil {
			actions, err = rec.Plan(ctx, req)
		}
		if err == nil {
			var notes []string
			actions, notes = reconcilers.SplitNotes(actions)
			for _, n := range notes {
				r.planNotes = append(r.planNotes, Note{Host: r.host.Metadata.Name, Resource: res.Ref(), Text: red.scrub(n)})
			}
		}
		refreshes := 0
		if err == nil {
			actions, refreshes, err = e.refresh(ctx, req, actions, changing, r.inv.owes(res.Ref()))
		}
		if err != nil {
			perr := &PlanError{Resource: res.Ref(), Err: err}
			r.failed++
			r.plan = append(r.plan, PlannedAction{Resource: res.Ref(), Action: reconcilers.Action{Description: "plan"},
				Status: StatusFailed, Err: perr, red: red})
			blocked[res.Ref()] = true
			if r.planErr == nil {
				r.planErr = perr
			}
			continue
		}
		skip := false
		for _, d := range r.deps[res.Ref()] {
			skip = skip || blocked[d]
		}
		if skip {
			blocked[res.Ref()] = true
		}
		if len(actions) > 0 && !skip {
			changing[res.Ref()] = true
		}
		combiner, _ := e.Registry.Combiner(res.Kind)
		for i, a := range actions {
			red.add(a.Secrets...)
			pa := PlannedAction{Resource: res.Ref(), Action: a, Status: StatusPlanned, red: red, refresh: i >= len(actions)-refreshes}
			if skip {
				pa.Status, pa.Err = StatusSkipped, ErrDependencyFailed
				r.skipped++
			} else if combiner != nil {
				pa.combine, pa.items = combiner.Combinable(req, a)
			}
			r.plan = append(r.plan, pa)
		}
	}
	if r.inv.loaded() {
		e.planPrune(ctx, r, red)
	}
	r.settle()
}

// refresh adds a Refresher's actions when a resource it watches changes in
// this cycle, or when an earlier run left its refresh pending (owed). Its
// triggers are among its dependencies, so they were planned before it and
// their actions run before its refresh. An action that replaces a planned
// one (Action.Replaces) moves to the end in its place. n is how many of the
// returned actions are refreshes: the last n.
func (e *Engine) refresh(ctx context.Context, req reconcilers.Request, planned []reconcilers.Action,
	changing map[v1alpha1.ResourceRef]bool, owed bool) (_ []reconcilers.Action, n int, _ error) {
	rf, ok := e.Registry.Refresher(req.Resource.Kind)
	if !ok {
		return planned, 0, nil
	}
	req.Changed = nil
	for _, t := range rf.Triggers(req.Resource) {
		if changing[t] && !slices.Contains(req.Changed, t) {
			req.Changed = append(req.Changed, t)
		}
	}
	if len(req.Changed) == 0 && !owed {
		return planned, 0, nil
	}
	more, err := rf.Refresh(ctx, req, planned)
	if err != nil {
		return nil, 0, err
	}
	if len(req.Changed) == 0 {
		for i := range more {
			more[i].Description += " (pending: an earlier run changed what it watches but did not finish)"
		}
	}
	kept := slices.Clone(planned)
	for _, m := range more {
		if m.Replaces == "" {
			continue
		}
		i := slices.IndexFunc(kept, func(a reconcilers.Action) bool { return a.Op == m.Replaces })
		if i < 0 {
			return nil, 0, fmt.Errorf("%s: its refresh replaces a %s action that was not planned", req.Resource.ID(), m.Replaces)
		}
		kept = slices.Delete(kept, i, i+1)
	}
	return append(kept, more...), len(more), nil
}

type scopedKey struct{ scope, key string }

// selectsByFacts reports whether any of resources picks its hosts by their
// facts (hostSelector.matchFacts).
func selectsByFacts(resources []*v1alpha1.Resource) bool {
	for _, res := range resources {
		if t := res.Targeting(); t != nil && t.HostSelector.HasFacts() {
			return true
		}
	}
	return false
}

// queries gathers the read-only commands that observe resources on host:
// each kind's, shared ones once, every path query merged into one. A kind
// whose queries contradict themselves fails its own resources (kindErr);
// the other kinds' queries cannot clash with it (see Registry.QueryScope).
func (e *Engine) queries(host *v1alpha1.Host, resources []*v1alpha1.Resource) ([]reconcilers.Query, []scopedKey, map[string]error) {
	byKind := map[string][]*v1alpha1.Resource{}
	var kinds []string
	for _, res := range resources {
		if _, seen := byKind[res.Kind]; !seen {
			kinds = append(kinds, res.Kind)
		}
		byKind[res.Kind] = append(byKind[res.Kind], res)
	}
	var queries []reconcilers.Query
	var paths []reconcilers.PathRequest
	scripts := map[scopedKey]string{}
	var keys []scopedKey
	kindErr := map[string]error{}
	for _, k := range kinds {
		rec, _ := e.Registry.For(k)
		for _, q := range rec.Queries(host, byKind[k]) {
			// Every kind's path queries become one command (FindPath looks
			// through all of them anyway).
			if len(q.Paths) > 0 {
				paths = append(paths, q.Paths...)
				continue
			}
			scope, err := e.Registry.QueryScope(k, q)
			key := scopedKey{scope, q.Key}
			if s, dup := scripts[key]; err == nil && dup && s != q.Script {
				err = fmt.Errorf("kind %s: query %q declared with two different scripts", k, q.Key)
			}
			if err != nil {
				kindErr[k] = err
				break
			}
			if _, dup := scripts[key]; dup {
				continue
			}
			scripts[key] = q.Script
			queries, keys = append(queries, q), append(keys, key)
		}
	}
	// Resources that select hosts by their facts need them read with the
	// rest; they are matched before planning.
	if factsKey := (scopedKey{"", reconcilers.FactsKey}); selectsByFacts(resources) && scripts[factsKey] == "" {
		scripts[factsKey] = reconcilers.QueryFacts.Script
		queries, keys = append(queries, reconcilers.QueryFacts), append(keys, factsKey)
	}
	if len(paths) > 0 {
		q := reconcilers.PathsQuery(paths)
		queries, keys = append(queries, q), append(keys, scopedKey{"", q.Key})
	}
	return queries, keys, kindErr
}

// query sends queries in one round trip; a failure quarantines the host.
func (e *Engine) query(ctx context.Context, r *hostRun, queries []reconcilers.Query) ([]transport.Result, error) {
	got, err := e.send(ctx, r, queries)
	if err != nil {
		e.failObserve(ctx, r, err)
	}
	return got, err
}

// send runs queries in one round trip.
func (e *Engine) send(ctx context.Context, r *hostRun, queries []reconcilers.Query) ([]transport.Result, error) {
	cmds := make([]transport.Command, len(queries))
	for i, q := range queries {
		cmds[i] = transport.Command{Script: q.Script}
	}
	r.roundTrips++
	qctx, cancel := observeContext(ctx, r)
	defer cancel()
	return r.conn.Batch(qctx, cmds)
}

// failObserve records an observe round trip that failed: the host is
// quarantined, or interrupted with the run.
func (e *Engine) failObserve(ctx context.Context, r *hostRun, err error) {
	e.broken(r)
	if ctx.Err() == nil {
		r.quarantine = fmt.Errorf("observe: %w", err)
	} else {
		r.interrupt(fmt.Errorf("observe: %w", err))
	}
}
