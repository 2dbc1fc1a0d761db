package controller

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// DialFunc opens a connection to a host.
type DialFunc func(ctx context.Context, h *v1alpha1.Host) (transport.Conn, error)

// Engine runs observe → plan → act cycles over a set of hosts.
type Engine struct {
	// Registry maps every kind of the resources to its reconciler.
	Registry *reconcilers.Registry
	// Dial opens connections; default transport.Dial.
	Dial DialFunc
	// Parallel bounds how many hosts are worked on at once; default 32.
	Parallel int
	// MaxCycles bounds the act phases; default 5.
	MaxCycles int
	// DryRun observes and plans once and never acts (optimus diff).
	DryRun bool
	// Confirm is called with the first plan that has actions; false stops
	// the run before anything changes. Nil proceeds.
	Confirm func(ctx context.Context, plan *Plan) (bool, error)
	// OnPlan, when set, is called with every cycle's plan before acting.
	OnPlan func(plan *Plan)
	// Pool, when set, keeps connections open across runs; otherwise each
	// run opens and closes its own.
	Pool *Pool
	// OnActed, when set, is called with every cycle's plan after acting,
	// each action's Status filled in.
	OnActed func(plan *Plan)
}

// hostRun is the state of one host during a run.
type hostRun struct {
	host                     *v1alpha1.Host
	resources                []*v1alpha1.Resource // ordered by dependencies
	deps                     map[v1alpha1.ResourceRef][]v1alpha1.ResourceRef
	conn                     transport.Conn
	quarantine               string // reason; empty while healthy
	changed, failed, skipped int
	roundTrips, connects     int
	plan                     []PlannedAction
	changedRefs              map[v1alpha1.ResourceRef]bool
}

// ErrNoReconciler is returned when a resource's kind has no reconciler.
var ErrNoReconciler = errors.New("no reconciler registered")

// Run converges hosts to resources. Resources are matched to hosts by their
// hostSelector. Cancelling ctx stops the run between phases: actions already
// sent to a host finish and are reported.
func (e *Engine) Run(ctx context.Context, hosts []*v1alpha1.Host, resources []*v1alpha1.Resource) (*Report, error) {
	start := time.Now()
	dial := e.Dial
	if dial == nil {
		dial = transport.Dial
	}
	parallel := e.Parallel
	if parallel <= 0 {
		parallel = 32
	}
	maxCycles := e.MaxCycles
	if maxCycles <= 0 {
		maxCycles = 5
	}

	runs, err := e.prepare(hosts, resources)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, r := range runs {
			if r.conn != nil && e.Pool == nil {
				_ = r.conn.Close()
			}
		}
	}()

	red := &redactor{}
	report := &Report{}
	confirmed := e.Confirm == nil
	for cycle := 1; ; cycle++ {
		if ctx.Err() != nil {
			report.Interrupted = true
			break
		}
		report.Cycles = cycle
		forEach(runs, parallel, func(r *hostRun) { e.observe(ctx, r, dial, red) })
		plan := collectPlan(cycle, runs, false)
		if plan.Empty() {
			report.Converged = ctx.Err() == nil
			break
		}
		if e.DryRun {
			report.Plans = append(report.Plans, plan)
			break
		}
		if cycle > maxCycles {
			for _, h := range plan.Hosts {
				for _, a := range h.Actions {
					report.Unconverged = append(report.Unconverged, h.Host+": "+a.Resource)
				}
			}
			break
		}
		if e.OnPlan != nil {
			e.OnPlan(plan)
		}
		if !confirmed {
			ok, err := e.Confirm(ctx, plan)
			if err != nil {
				return nil, err
			}
			if !ok {
				report.Declined = true
				report.Plans = append(report.Plans, plan)
				break
			}
			confirmed = true
		}
		if ctx.Err() != nil {
			report.Interrupted = true
			report.Plans = append(report.Plans, plan)
			break
		}
		forEach(runs, parallel, func(r *hostRun) { e.act(ctx, r, red) })
		plan = collectPlan(cycle, runs, true)
		report.Plans = append(report.Plans, plan)
		if e.OnActed != nil {
			e.OnActed(plan)
		}
	}
	report.Hosts = summarise(runs, report, e.DryRun)
	report.Duration = time.Since(start)
	return report, nil
}

// prepare matches resources to hosts and orders them, before any host is touched.
func (e *Engine) prepare(hosts []*v1alpha1.Host, resources []*v1alpha1.Resource) ([]*hostRun, error) {
	var managed []*v1alpha1.Resource
	for _, res := range resources {
		if res.Kind == v1alpha1.HostKind.Kind {
			continue
		}
		if _, ok := e.Registry.For(res.Kind); !ok {
			return nil, fmt.Errorf("%s (%s): %w for kind %s", res.ID(), res.Origin, ErrNoReconciler, res.Kind)
		}
		managed = append(managed, res)
	}
	targets := indexTargets(managed)
	runs := make([]*hostRun, 0, len(hosts))
	for _, h := range hosts {
		onHost := targets.forHost(h.Metadata.Labels)
		// Only edges between resources of this host count, so dependencies
		// are looked for among them, not among every host's resources.
		sorted, deps, err := order(e.Registry, onHost, onHost)
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", h.Metadata.Name, err)
		}
		runs = append(runs, &hostRun{host: h, resources: sorted, deps: deps, changedRefs: map[v1alpha1.ResourceRef]bool{}})
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].host.Metadata.Name < runs[j].host.Metadata.Name })
	return runs, nil
}

// targetIndex finds the resources a host's labels select without matching
// every resource against every host: a selector with matchLabels can only
// select hosts that carry its first label, so it is filed under that label.
type targetIndex struct {
	resources []*v1alpha1.Resource
	always    []int               // no selector or no matchLabels: checked on every host
	byLabel   map[[2]string][]int // first matchLabels pair (by key) -> resources
}

func indexTargets(resources []*v1alpha1.Resource) *targetIndex {
	x := &targetIndex{resources: resources, byLabel: map[[2]string][]int{}}
	for i, res := range resources {
		t := res.Targeting()
		if t == nil || t.HostSelector == nil || len(t.HostSelector.MatchLabels) == 0 {
			x.always = append(x.always, i)
			continue
		}
		first := ""
		for k := range t.HostSelector.MatchLabels {
			if first == "" || k < first {
				first = k
			}
		}
		key := [2]string{first, t.HostSelector.MatchLabels[first]}
		x.byLabel[key] = append(x.byLabel[key], i)
	}
	return x
}

// forHost returns the resources that select a host with labels, in
// manifest order.
func (x *targetIndex) forHost(labels map[string]string) []*v1alpha1.Resource {
	candidates := append([]int(nil), x.always...)
	for k, v := range labels {
		candidates = append(candidates, x.byLabel[[2]string{k, v}]...)
	}
	sort.Ints(candidates)
	var out []*v1alpha1.Resource
	for _, i := range candidates {
		res := x.resources[i]
		if t := res.Targeting(); t == nil || t.HostSelector.Matches(labels) {
			out = append(out, res)
		}
	}
	return out
}

// forEach runs fn on every healthy host, at most parallel at once.
func forEach(runs []*hostRun, parallel int, fn func(*hostRun)) {
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, r := range runs {
		if r.quarantine != "" {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(r)
		}()
	}
	wg.Wait()
}

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
	r.plan = nil
	if len(r.resources) == 0 {
		return
	}
	if r.conn == nil {
		if err := e.connect(ctx, r, dial); err != nil {
			if ctx.Err() == nil {
				r.quarantine = red.scrub(err.Error())
			}
			return
		}
	}

	byKind := map[string][]*v1alpha1.Resource{}
	var kinds []string
	for _, res := range r.resources {
		if _, seen := byKind[res.Kind]; !seen {
			kinds = append(kinds, res.Kind)
		}
		byKind[res.Kind] = append(byKind[res.Kind], res)
	}
	var queries []reconcilers.Query
	var paths []reconcilers.PathRequest
	scripts := map[string]string{}
	for _, k := range kinds {
		rec, _ := e.Registry.For(k)
		for _, q := range rec.Queries(r.host, byKind[k]) {
			// Every kind's path queries become one command (FindPath looks
			// through all of them anyway).
			if len(q.Paths) > 0 {
				paths = append(paths, q.Paths...)
				continue
			}
			if s, dup := scripts[q.Key]; dup {
				if s != q.Script {
					r.quarantine = fmt.Sprintf("reconciler %s: query %q declared with two different scripts", k, q.Key)
					return
				}
				continue
			}
			scripts[q.Key] = q.Script
			queries = append(queries, q)
		}
	}
	if len(paths) > 0 {
		queries = append(queries, reconcilers.PathsQuery(paths))
	}
	results := map[string]transport.Result{}
	if len(queries) > 0 {
		cmds := make([]transport.Command, len(queries))
		for i, q := range queries {
			cmds[i] = transport.Command{Script: q.Script}
		}
		r.roundTrips++
		got, err := r.conn.Batch(ctx, cmds)
		if err != nil {
			e.broken(r)
			if ctx.Err() == nil {
				r.quarantine = "observe: " + red.scrub(err.Error())
			}
			return
		}
		for i, q := range queries {
			results[q.Key] = got[i]
		}
	}
	facts := reconcilers.NewFacts(results)
	changing := map[v1alpha1.ResourceRef]bool{}
	for _, res := range r.resources {
		rec, _ := e.Registry.For(res.Kind)
		req := reconcilers.Request{Host: r.host, Resource: res, Facts: facts}
		actions, err := rec.Plan(ctx, req)
		if err == nil {
			actions, err = refresh(ctx, rec, req, actions, changing)
		}
		if err != nil {
			r.failed++
			r.plan = nil
			r.quarantine = fmt.Sprintf("plan %s: %s", res.ID(), red.scrub(err.Error()))
			return
		}
		if len(actions) > 0 {
			changing[res.Ref()] = true
		}
		for _, a := range actions {
			red.add(a.Secrets...)
			r.plan = append(r.plan, PlannedAction{Resource: res.ID(), Action: a, Status: StatusPlanned})
		}
	}
}

// refresh adds a Refresher's actions when a resource it watches changes in
// this cycle. Its triggers are among its dependencies, so they were planned
// before it and their actions run before its refresh.
func refresh(ctx context.Context, rec reconcilers.Reconciler, req reconcilers.Request, planned []reconcilers.Action,
	changing map[v1alpha1.ResourceRef]bool) ([]reconcilers.Action, error) {
	rf, ok := rec.(reconcilers.Refresher)
	if !ok {
		return planned, nil
	}
	for _, t := range rf.Triggers(req.Resource) {
		if changing[t] {
			more, err := rf.Refresh(ctx, req, planned)
			if err != nil {
				return nil, err
			}
			return append(planned, more...), nil
		}
	}
	return planned, nil
}

// act runs the host's planned actions in one round trip. An action runs only
// when every earlier action of its resource and of the resources it depends
// on succeeded, so a failure skips exactly what depends on it.
func (e *Engine) act(ctx context.Context, r *hostRun, red *redactor) {
	if len(r.plan) == 0 {
		return
	}
	cmds, slot := e.commands(r)
	r.roundTrips++
	// Actions already on their way finish even when the run is interrupted.
	results, err := r.conn.Batch(context.WithoutCancel(ctx), cmds)
	if err != nil {
		e.broken(r)
		for i := range r.plan {
			r.plan[i].Status = StatusFailed
			r.plan[i].Error = "not confirmed: " + red.scrub(err.Error())
		}
		r.quarantine = "act: " + red.scrub(err.Error())
		return
	}
	var firstFailure string
	for i := range r.plan {
		res, pa := results[slot[i]], &r.plan[i]
		switch {
		case res.Skipped:
			pa.Status = StatusSkipped
			pa.Error = "skipped: a resource it depends on failed"
			r.skipped++
		case res.ExitCode != 0:
			pa.Status = StatusFailed
			pa.Error = red.scrub(failureText(res))
			r.failed++
			if firstFailure == "" {
				firstFailure = fmt.Sprintf("%s: %s: %s", pa.Resource, pa.Description, pa.Error)
			}
		default:
			pa.Status = StatusOK
			r.changed++
			r.changedRefs[v1alpha1.ParseRef(pa.Resource)] = true
		}
	}
	if firstFailure != "" {
		r.quarantine = firstFailure
	}
}

// commands turns the host's plan into the batch to send. slot[i] is the
// command that carries planned action i: actions a Combiner merges share
// one. Each command runs only when every earlier command of its resources
// and of the resources they depend on succeeded.
func (e *Engine) commands(r *hostRun) ([]transport.Command, []int) {
	groupOf := e.combinable(r)
	byResource := map[string][]int{}
	var cmds []transport.Command
	slot := make([]int, len(r.plan))
	for i, pa := range r.plan {
		members := []int{i}
		if g, ok := groupOf[i]; ok {
			if g[len(g)-1] != i {
				continue // sent with the last member of its group
			}
			members = g
		}
		seen := map[int]bool{}
		var after []int
		for _, j := range members {
			res := r.plan[j].Resource
			for _, idx := range byResource[res] {
				seen[idx] = true
			}
			for _, d := range r.deps[v1alpha1.ParseRef(res)] {
				for _, idx := range byResource[d.String()] {
					seen[idx] = true
				}
			}
		}
		for idx := range seen {
			after = append(after, idx)
		}
		sort.Ints(after)
		cmd := transport.Command{Script: pa.Script, Stdin: pa.Stdin, After: after}
		if len(members) > 1 {
			var items []string
			have := map[string]bool{}
			for _, j := range members {
				for _, it := range r.plan[j].Items {
					if !have[it] {
						have[it] = true
						items = append(items, it)
					}
				}
			}
			rec, _ := e.Registry.For(v1alpha1.ParseRef(pa.Resource).Kind)
			cmd.Script = rec.(reconcilers.Combiner).Combine(pa.Combine, items)
		}
		idx := len(cmds)
		cmds = append(cmds, cmd)
		for _, j := range members {
			slot[j] = idx
			byResource[r.plan[j].Resource] = append(byResource[r.plan[j].Resource], idx)
		}
	}
	return cmds, slot
}

// combinable finds the groups of planned actions to merge: same kind, same
// Combine key, a Combiner reconciler, no stdin, and nothing planned between
// the first and the last member that depends on a member or belongs to one
// of their resources (the merged command runs where the last member was).
func (e *Engine) combinable(r *hostRun) map[int][]int {
	byKey := map[string][]int{}
	var keys []string
	for i, pa := range r.plan {
		if pa.Combine == "" || pa.Stdin != nil {
			continue
		}
		kind := v1alpha1.ParseRef(pa.Resource).Kind
		rec, _ := e.Registry.For(kind)
		if _, ok := rec.(reconcilers.Combiner); !ok {
			continue
		}
		k := kind + "\x00" + pa.Combine
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], i)
	}
	groupOf := map[int][]int{}
	for _, k := range keys {
		g := byKey[k]
		if len(g) < 2 {
			continue
		}
		inGroup, members := map[int]bool{}, map[string]bool{}
		for _, i := range g {
			inGroup[i] = true
			members[r.plan[i].Resource] = true
		}
		safe := true
		for k := g[0] + 1; k < g[len(g)-1] && safe; k++ {
			if inGroup[k] {
				continue
			}
			if members[r.plan[k].Resource] {
				safe = false
			}
			for _, d := range r.deps[v1alpha1.ParseRef(r.plan[k].Resource)] {
				if members[d.String()] {
					safe = false
				}
			}
		}
		if safe {
			for _, i := range g {
				groupOf[i] = g
			}
		}
	}
	return groupOf
}

func failureText(res transport.Result) string {
	msg := strings.TrimSpace(string(res.Stderr))
	if msg == "" {
		msg = strings.TrimSpace(string(res.Stdout))
	}
	if len(msg) > 500 {
		msg = msg[:500] + "..."
	}
	if msg == "" {
		return fmt.Sprintf("exit status %d", res.ExitCode)
	}
	return fmt.Sprintf("exit status %d: %s", res.ExitCode, msg)
}

// collectPlan gathers the hosts' planned actions; quarantined hosts count
// only after acting, when their failed and skipped actions are the report.
func collectPlan(cycle int, runs []*hostRun, acted bool) *Plan {
	p := &Plan{Cycle: cycle}
	for _, r := range runs {
		if len(r.plan) > 0 && (acted || r.quarantine == "") {
			p.Hosts = append(p.Hosts, HostPlan{Host: r.host.Metadata.Name, Actions: append([]PlannedAction(nil), r.plan...)})
		}
	}
	return p
}

func summarise(runs []*hostRun, report *Report, dryRun bool) []HostReport {
	out := make([]HostReport, 0, len(runs))
	for _, r := range runs {
		h := HostReport{Host: r.host.Metadata.Name, Changed: r.changed, Failed: r.failed, Skipped: r.skipped,
			RoundTrips: r.roundTrips, Connects: r.connects}
		switch {
		case r.quarantine != "":
			h.State, h.Reason = HostFailed, r.quarantine
		case len(r.plan) > 0 && dryRun:
			h.State = HostDiffers
		case len(r.plan) > 0:
			h.State = HostUnconverged
		default:
			h.State = HostConverged
		}
		out = append(out, h)
	}
	return out
}
