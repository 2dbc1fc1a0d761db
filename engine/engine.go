package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
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
	// OnHostPhase, when set, is called from the host's goroutine when it
	// starts and ends a phase, for progress displays.
	OnHostPhase func(ev HostPhase)
	// Inventory, when set, records on each host what the manifest set holds
	// there and the restarts it still owes, and prunes (see Inventory).
	Inventory *Inventory
	// Expect, when set, is the observation a saved plan was made from: the
	// first cycle's observation must match it, or Run returns a
	// *PlanStaleError before anything changes (see Observation).
	Expect []Observation
	// OnObserved, when set, is called with the first cycle's observation of
	// every host that could be observed, before anything changes.
	OnObserved func(obs []Observation)
	// Fence, when set, is asked right before each act on a host; an error
	// refuses the act: the host's planned actions are skipped and the host
	// fails with that error (replicas sharing a fleet fence every act on
	// their ownership of the host). The variables it returns are exported
	// to the act's commands (the replica and its fencing token, so that a
	// command on the host can record or check them).
	Fence func(ctx context.Context, host string) (env []EnvVar, err error)
	// Rollout, when set, stages acting in batches under a failure budget;
	// nil acts on every host at once and never stops for failures.
	Rollout *Rollout
	// StopInFlight makes cancelling the run's context stop the act batches
	// in flight too (their commands get SIGTERM; see transport.WithKill for
	// SIGKILL), as optimus apply does on Ctrl-C. Without it, actions already
	// sent finish, bounded by the host's act deadline, as the daemon's
	// shutdown wants.
	StopInFlight bool
	// OnBatch, when set with Rollout, is called as each batch starts
	// acting, with its number (from 1), the number of batches and its plan.
	OnBatch func(batch, batches int, plan *Plan)
}

// EnvVar is an environment variable exported to a host's act commands.
type EnvVar struct{ Name, Value string }

// hostRun is the state of one host during a run.
type hostRun struct {
	host       *v1alpha1.Host
	resources  []*v1alpha1.Resource // ordered by dependencies
	deps       map[v1alpha1.ResourceRef][]v1alpha1.ResourceRef
	conn       transport.Conn
	quarantine error // why the host failed; nil while healthy
	// interrupted is why the run stopped before the host was done (the
	// run's context was cancelled while it was observed or acted on).
	interrupted              error
	planErr                  error // the first resource that could not be planned this cycle
	changed, failed, skipped int
	roundTrips, connects     int
	plan                     []PlannedAction
	changedRefs              map[v1alpha1.ResourceRef]bool
	// inv is the host's inventory as this cycle read it (Engine.Inventory).
	inv *inventory
	// notes lists what left the manifests, by resource, since the first cycle.
	notes []PruneNote
	// planNotes are the notes of the latest observe's plan.
	planNotes []Note
	// observed is the digest of this cycle's query results.
	observed string
	batch    int  // the host's rollout batch, from 1; 0 without a rollout
	acted    bool // acted on at least once in this run
	held     bool // left alone: the rollout stopped before its turn
}

// ErrNoReconciler is returned when a resource's kind has no reconciler.
var ErrNoReconciler = errors.New("no reconciler registered")

// Run converges hosts to resources. Resources are matched to hosts by their
// hostSelector. Every observe and act round trip has the host's deadline
// (spec.timeouts). Cancelling ctx stops the run: no new round trip starts,
// observes in flight are stopped, and actions already sent finish (or, with
// StopInFlight, are stopped); the report says Interrupted and names the
// hosts left unfinished.
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
	batches := e.stage(hosts, runs)
	if e.Rollout != nil {
		report.Rollout = &RolloutReport{Budget: e.Rollout.MaxFail.String(), Total: len(runs)}
		for _, b := range batches {
			names := make([]string, len(b))
			for i, r := range b {
				names[i] = r.host.Metadata.Name
			}
			report.Rollout.Batches = append(report.Rollout.Batches, names)
		}
	}
	budget := &budget{rollout: e.Rollout, total: len(runs)}
	confirmed := e.Confirm == nil
	done := false
	for bi := 0; bi < len(batches) && !done; bi++ {
		batch := batches[bi]
		budget.reach(batch)
		if budget.exceeded() {
			break
		}
		if report.Rollout != nil {
			report.Rollout.Reached = bi + 1
		}
		for batchCycle := 1; ; batchCycle++ {
			if ctx.Err() != nil {
				report.Interrupted = true
				done = true
				break
			}
			report.Cycles++
			cycle := report.Cycles
			// The first cycle observes every host at once (observe is
			// read-only, and the plan shown covers every batch); a later
			// batch starts from that observation.
			scope := batch
			if cycle == 1 {
				scope = runs
			}
			if cycle == 1 || batchCycle > 1 {
				forEach(scope, parallel, func(r *hostRun) { e.phase(r, PhaseObserve, func() { e.observe(ctx, r, dial, red) }) })
				budget.recount()
			}
			if ctx.Err() != nil {
				// A host whose observe was cut short has no plan: the run
				// must not take that for nothing to do.
				report.Interrupted = true
				done = true
				break
			}
			plan := collectPlan(cycle, scope, false)
			if cycle == 1 {
				obs := observations(runs)
				if e.OnObserved != nil {
					e.OnObserved(obs)
				}
				if e.Expect != nil {
					if err := compareObservations(e.Expect, obs, runs); err != nil {
						return nil, err
					}
				}
			}
			if plan.Empty() {
				report.Converged = ctx.Err() == nil
				done = cycle == 1
				break
			}
			if e.DryRun {
				report.Plans = append(report.Plans, plan)
				done = true
				break
			}
			if batchCycle > maxCycles {
				for _, h := range plan.Hosts {
					for _, a := range h.Actions {
						report.Unconverged = append(report.Unconverged, HostResource{Host: h.Host, Ref: a.Resource})
					}
				}
				done = true
				break
			}
			if e.OnPlan != nil && (cycle == 1 || batchCycle > 1) {
				e.OnPlan(plan)
			}
			// A plan whose every entry already failed has nothing to confirm.
			if !confirmed && plan.Pending() > 0 {
				ok, err := e.Confirm(ctx, plan)
				if err != nil {
					return nil, err
				}
				if !ok {
					// A prompt cut short by a signal is an interrupt, not a no.
					report.Interrupted = ctx.Err() != nil
					report.Declined = !report.Interrupted
					report.Plans = append(report.Plans, plan)
					done = true
					break
				}
				confirmed = true
			}
			if ctx.Err() != nil {
				report.Interrupted = true
				report.Plans = append(report.Plans, plan)
				done = true
				break
			}
			if cycle == 1 {
				plan = collectPlan(cycle, batch, false)
			}
			if plan.Empty() {
				report.Converged = true
				break // this batch has nothing to do; the next one may
			}
			if e.OnBatch != nil && batchCycle == 1 && e.Rollout != nil {
				e.OnBatch(bi+1, len(batches), plan)
			}
			e.actAll(ctx, batch, parallel, budget)
			plan = collectPlan(cycle, batch, true)
			report.Plans = append(report.Plans, plan)
			if e.OnActed != nil {
				e.OnActed(plan)
			}
		}
	}
	if report.Rollout != nil {
		report.Rollout.Failed = budget.failed
		report.Rollout.Stopped = budget.exceeded()
		if report.Rollout.Stopped {
			report.Converged = false
		}
		for _, r := range runs {
			if r.batch > report.Rollout.Reached {
				r.held = true
			}
			if r.held && r.quarantine == nil && len(r.plan) > 0 {
				report.Rollout.Untouched = append(report.Rollout.Untouched, r.host.Metadata.Name)
			}
		}
	}
	if report.Interrupted || report.Declined || len(report.Unconverged) > 0 {
		report.Converged = false
	}
	for _, r := range runs {
		// A resource that could not be planned fails its host, as a failed
		// action does, also when the run stopped before acting.
		if r.quarantine == nil && r.planErr != nil {
			r.quarantine = r.planErr
		}
	}
	if report.Interrupted {
		notRun(report, runs)
	}
	report.Hosts = summarise(runs, e.DryRun, report.Interrupted, red)
	for _, r := range runs {
		report.Prune = append(report.Prune, r.notes...)
		report.Notes = append(report.Notes, r.planNotes...)
	}
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

// forEach runs fn on every healthy host the rollout did not hold, at most
// parallel at once.
func forEach(runs []*hostRun, parallel int, fn func(*hostRun)) {
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, r := range runs {
		if r.quarantine != nil || r.held {
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

// collectPlan gathers the hosts' planned actions; quarantined hosts count
// only after acting, when their failed and skipped actions are the report.
func collectPlan(cycle int, runs []*hostRun, acted bool) *Plan {
	p := &Plan{Cycle: cycle}
	for _, r := range runs {
		if r.held {
			continue
		}
		if len(r.plan) > 0 && (acted || r.quarantine == nil) {
			p.Hosts = append(p.Hosts, HostPlan{Host: r.host.Metadata.Name, Batch: r.batch, Actions: append([]PlannedAction(nil), r.plan...)})
		}
	}
	return p
}

func summarise(runs []*hostRun, dryRun, interrupted bool, red *redactor) []HostReport {
	out := make([]HostReport, 0, len(runs))
	for _, r := range runs {
		h := HostReport{Host: r.host.Metadata.Name, Batch: r.batch, Changed: r.changed, Failed: r.failed, Skipped: r.skipped,
			RoundTrips: r.roundTrips, Connects: r.connects, red: red}
		for _, pa := range r.plan {
			if pa.Status == StatusNotRun {
				h.NotRun++
			}
		}
		switch {
		case r.quarantine != nil:
			h.State, h.Err = HostFailed, r.quarantine
		case r.interrupted != nil:
			h.State, h.Err = HostInterrupted, r.interrupted
		case interrupted && h.NotRun > 0:
			h.State, h.Err = HostInterrupted, errRunInterrupted
		case r.held && len(r.plan) > 0:
			h.State = HostUntouched
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

// errRunInterrupted is why a host that still had actions did not get them.
var errRunInterrupted = errors.New("the run was interrupted before these actions started")

// notRun marks the actions an interrupted run never started, in the hosts'
// plans and in the last plan of the report.
func notRun(report *Report, runs []*hostRun) {
	for _, r := range runs {
		if r.quarantine != nil {
			continue
		}
		for i := range r.plan {
			if r.plan[i].Status == StatusPlanned {
				r.plan[i].Status, r.plan[i].Err = StatusNotRun, errRunInterrupted
			}
		}
	}
	if n := len(report.Plans); n > 0 {
		for _, h := range report.Plans[n-1].Hosts {
			for i := range h.Actions {
				if h.Actions[i].Status == StatusPlanned {
					h.Actions[i].Status, h.Actions[i].Err = StatusNotRun, errRunInterrupted
				}
			}
		}
	}
}
