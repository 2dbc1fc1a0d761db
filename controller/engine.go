package controller

import (
	"context"
	"errors"
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
	// Pool, when set, keeps connections open across runs; otherwise each
	// run opens and closes its own.
	Pool *Pool
	// Observer, when set, is told of progress, plans, acts and batches.
	Observer Observer
	// Inventory, when set, records on each host what the manifest set holds
	// there and the restarts it still owes, and prunes (see Inventory).
	Inventory *Inventory
	// Expect, when set, is the observation a saved plan was made from: the
	// first cycle's observation must match it, or Run returns a
	// *PlanStaleError before anything changes (see Observation).
	Expect []Observation
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
}

// EnvVar is an environment variable exported to a host's act commands.
type EnvVar struct{ Name, Value string }

// ErrNoReconciler is returned when a resource's kind has no reconciler.
var ErrNoReconciler = errors.New("no reconciler registered")

// Run converges hosts to resources. Resources are matched to hosts by their
// hostSelector. Every observe and act round trip has the host's deadline
// (spec.timeouts). Cancelling ctx stops the run: no new round trip starts,
// observes in flight are stopped, and actions already sent finish (or, with
// StopInFlight, are stopped); the report says Interrupted and names the
// hosts left unfinished.
//
// A run is a sequence of named steps: prepare, then for each rollout batch
// cycles of observe, plan (with verify on the first), act, and at the end
// record.
func (e *Engine) Run(ctx context.Context, hosts []*v1alpha1.Host, resources []*v1alpha1.Resource) (*Report, error) {
	start := time.Now()
	ru, err := e.prepare(ctx, hosts, resources)
	if err != nil {
		return nil, err
	}
	defer ru.close()
	for bi, batch := range ru.batches {
		if !ru.reach(bi, batch) {
			break
		}
		next, err := ru.converge(bi, batch)
		if err != nil {
			return nil, err
		}
		if next == stopRun {
			break
		}
	}
	ru.record()
	ru.report.Duration = time.Since(start)
	return ru.report, nil
}

// run is the state of one Run: the Engine's settings with their defaults,
// every host's state, and the report being written.
type run struct {
	e         *Engine
	ctx       context.Context
	obs       Observer
	dial      DialFunc
	parallel  int
	maxCycles int
	hosts     []*hostRun // by name (by batch, then name, in a rollout)
	batches   [][]*hostRun
	budget    *budget
	red       *redactor
	report    *Report
	confirmed bool
}

// next is what a step leaves the run to do.
type next int

const (
	nextCycle next = iota // observe and act on the batch again
	nextBatch             // the batch is done: the next one may start
	stopRun               // the run is over
)

// cycle is one observe → plan → act pass over a batch.
type cycle struct {
	n       int // over the run, from 1
	batch   int // the batch's index, from 0
	inBatch int // within the batch, from 1
}

// first: the run's first cycle observes every host at once (observe is
// read-only, and the plan shown covers every batch), and is what a saved
// plan is checked against.
func (c cycle) first() bool { return c.n == 1 }

// observes: a later batch's first cycle starts from the first cycle's
// observation instead of observing again.
func (c cycle) observes() bool { return c.first() || c.inBatch > 1 }

// prepare is the first step: it fills in the defaults, matches resources to
// hosts and orders them, and stages the hosts in batches, before any host
// is touched.
func (e *Engine) prepare(ctx context.Context, hosts []*v1alpha1.Host, resources []*v1alpha1.Resource) (*run, error) {
	runs, err := e.hostRuns(hosts, resources)
	if err != nil {
		return nil, err
	}
	ru := &run{e: e, ctx: ctx, obs: e.Observer, dial: e.Dial, parallel: e.Parallel, maxCycles: e.MaxCycles,
		hosts: runs, red: &redactor{}, report: &Report{}, confirmed: e.Confirm == nil}
	if ru.obs == nil {
		ru.obs = NopObserver{}
	}
	if ru.dial == nil {
		ru.dial = transport.Dial
	}
	if ru.parallel <= 0 {
		ru.parallel = 32
	}
	if ru.maxCycles <= 0 {
		ru.maxCycles = 5
	}
	ru.batches = e.stage(hosts, runs)
	ru.budget = &budget{rollout: e.Rollout, total: len(runs)}
	if e.Rollout != nil {
		ru.report.Rollout = &RolloutReport{Budget: e.Rollout.MaxFail.String(), Total: len(runs)}
		for _, b := range ru.batches {
			names := make([]string, len(b))
			for i, r := range b {
				names[i] = r.host.Metadata.Name
			}
			ru.report.Rollout.Batches = append(ru.report.Rollout.Batches, names)
		}
	}
	return ru, nil
}

// close closes the connections the run opened itself (a Pool keeps its own).
func (ru *run) close() {
	for _, r := range ru.hosts {
		if r.conn != nil && ru.e.Pool == nil {
			_ = r.conn.Close()
		}
	}
}

// reach starts a batch, unless the failure budget is spent.
func (ru *run) reach(bi int, batch []*hostRun) bool {
	ru.budget.reach(batch)
	if ru.budget.exceeded() {
		return false
	}
	if ru.report.Rollout != nil {
		ru.report.Rollout.Reached = bi + 1
	}
	return true
}

// converge runs cycles over a batch until it has nothing left to do, or the
// run must stop.
func (ru *run) converge(bi int, batch []*hostRun) (next, error) {
	for c := (cycle{batch: bi, inBatch: 1}); ; c.inBatch++ {
		if ru.ctx.Err() != nil {
			ru.report.Interrupted = true
			return stopRun, nil
		}
		ru.report.Cycles++
		c.n = ru.report.Cycles
		next, err := ru.cycle(c, batch)
		if err != nil || next != nextCycle {
			return next, err
		}
	}
}

// cycle is one pass of the steps observe, plan (verify on the first) and
// act over a batch.
func (ru *run) cycle(c cycle, batch []*hostRun) (next, error) {
	scope := batch
	if c.first() {
		scope = ru.hosts
	}
	if c.observes() {
		ru.observe(scope)
	}
	if ru.ctx.Err() != nil {
		// A host whose observe was cut short has no plan: the run must not
		// take that for nothing to do.
		ru.report.Interrupted = true
		return stopRun, nil
	}
	plan := collectPlan(c.n, scope, false)
	if c.first() {
		if err := ru.verify(); err != nil {
			return stopRun, err
		}
	}
	if next, ok := ru.plan(c, plan); !ok {
		return next, nil
	}
	proceed, err := ru.confirm(plan)
	if err != nil || !proceed {
		return stopRun, err
	}
	if c.first() {
		plan = collectPlan(c.n, batch, false) // the plan shown covered every batch
	}
	if plan.Empty() {
		ru.report.Converged = true
		return nextBatch, nil // this batch has nothing to do; the next one may
	}
	ru.act(c, batch, plan)
	return nextCycle, nil
}

// observe is the step that reads every healthy host of scope and plans its
// resources.
func (ru *run) observe(scope []*hostRun) {
	forEach(scope, ru.parallel, func(r *hostRun) {
		phase(ru.obs, r, PhaseObserve, func() { ru.e.observe(ru.ctx, r, ru.dial, ru.red) })
	})
	ru.budget.recount()
}

// verify is the step that hands the first cycle's observation to the
// observer and checks it against a saved plan's (Engine.Expect).
func (ru *run) verify() error {
	obs := observations(ru.hosts)
	ru.obs.Observed(obs)
	if ru.e.Expect != nil {
		return compareObservations(ru.e.Expect, obs, ru.hosts)
	}
	return nil
}

// plan is the step that decides from a cycle's plan whether to go on and
// act: false (with what to do next) when there is nothing to do, in diff
// mode, or when the cycles ran out.
func (ru *run) plan(c cycle, plan *Plan) (next, bool) {
	switch {
	case plan.Empty():
		ru.report.Converged = ru.ctx.Err() == nil
		if c.first() {
			return stopRun, false // no host has anything to do
		}
		return nextBatch, false
	case ru.e.DryRun:
		ru.report.Plans = append(ru.report.Plans, plan)
		return stopRun, false
	case c.inBatch > ru.maxCycles:
		for _, h := range plan.Hosts {
			for _, a := range h.Actions {
				ru.report.Unconverged = append(ru.report.Unconverged, HostResource{Host: h.Host, Ref: a.Resource})
			}
		}
		return stopRun, false
	}
	if c.observes() {
		ru.obs.Planned(plan)
	}
	return nextCycle, true
}

// confirm asks Engine.Confirm once, with the first plan that has actions
// still to run; false stops the run (declined or interrupted).
func (ru *run) confirm(plan *Plan) (bool, error) {
	// A plan whose every entry already failed has nothing to confirm.
	if !ru.confirmed && plan.Pending() > 0 {
		ok, err := ru.e.Confirm(ru.ctx, plan)
		if err != nil {
			return false, err
		}
		if !ok {
			// A prompt cut short by a signal is an interrupt, not a no.
			ru.report.Interrupted = ru.ctx.Err() != nil
			ru.report.Declined = !ru.report.Interrupted
			ru.report.Plans = append(ru.report.Plans, plan)
			return false, nil
		}
		ru.confirmed = true
	}
	if ru.ctx.Err() != nil {
		ru.report.Interrupted = true
		ru.report.Plans = append(ru.report.Plans, plan)
		return false, nil
	}
	return true, nil
}

// act is the step that acts on the batch's healthy hosts and reports what
// became of each action.
func (ru *run) act(c cycle, batch []*hostRun, plan *Plan) {
	if c.inBatch == 1 && ru.e.Rollout != nil {
		ru.obs.BatchStarted(c.batch+1, len(ru.batches), plan)
	}
	ru.e.actAll(ru.ctx, ru.obs, batch, ru.parallel, ru.budget)
	plan = collectPlan(c.n, batch, true)
	ru.report.Plans = append(ru.report.Plans, plan)
	ru.obs.Acted(plan)
}

// record is the last step: it settles the report from every host's state.
func (ru *run) record() {
	report := ru.report
	if report.Rollout != nil {
		report.Rollout.Failed = ru.budget.failed
		report.Rollout.Stopped = ru.budget.exceeded()
		if report.Rollout.Stopped {
			report.Converged = false
		}
		for _, r := range ru.hosts {
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
	for _, r := range ru.hosts {
		// A resource that could not be planned fails its host, as a failed
		// action does, also when the run stopped before acting.
		if r.quarantine == nil && r.planErr != nil {
			r.quarantine = r.planErr
		}
	}
	if report.Interrupted {
		notRun(report, ru.hosts)
	}
	report.Hosts = summarise(ru.hosts, ru.e.DryRun, report.Interrupted, ru.red)
	for _, r := range ru.hosts {
		report.Prune = append(report.Prune, r.inv.pruneNotes()...)
		report.Notes = append(report.Notes, r.planNotes...)
	}
}
