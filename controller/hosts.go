package controller

import (
	"errors"
	"fmt"
	"sort"

	"golang.org/x/sync/errgroup"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/transport"
)

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
	// inv is the Inventory's part in the host's run; nil without one.
	inv *hostInventory
	// planNotes are the notes of the latest observe's plan.
	planNotes []Note
	// observed is the digest of this cycle's query results.
	observed string
	// lost is the connection failure of an act batch whose outcome the
	// next observe must settle; nil when there is none.
	lost error
	// unconfirmed are the resources of the actions lost took the result of.
	unconfirmed        map[v1alpha1.ResourceRef]int
	unknown, confirmed int
	batch              int  // the host's rollout batch, from 1; 0 without a rollout
	acted              bool // acted on at least once in this run
	held               bool // left alone: the rollout stopped before its turn
}

// hostRuns matches resources to hosts and orders them: every host's state
// at the start of a run.
func (e *Engine) hostRuns(hosts []*v1alpha1.Host, resources []*v1alpha1.Resource) ([]*hostRun, error) {
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
		onHost := targets.forHost(h)
		// Only edges between resources of this host count, so dependencies
		// are looked for among them, not among every host's resources.
		sorted, deps, err := order(e.Registry, onHost, onHost)
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", h.Metadata.Name, err)
		}
		runs = append(runs, &hostRun{host: h, resources: sorted, deps: deps, changedRefs: map[v1alpha1.ResourceRef]bool{},
			inv: e.Inventory.forHost(h.Metadata.Name)})
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

// forHost returns the resources that select h by its labels and
// variables, in manifest order, each as written for h (see
// v1alpha1.Resource.For).
func (x *targetIndex) forHost(h *v1alpha1.Host) []*v1alpha1.Resource {
	candidates := append([]int(nil), x.always...)
	for k, v := range h.Metadata.Labels {
		candidates = append(candidates, x.byLabel[[2]string{k, v}]...)
	}
	sort.Ints(candidates)
	var out []*v1alpha1.Resource
	for _, i := range candidates {
		res := x.resources[i]
		if t := res.Targeting(); t == nil || t.HostSelector.MatchesHost(h) {
			out = append(out, res.For(h.Metadata.Name))
		}
	}
	return out
}

// forEach runs fn on every healthy host the rollout did not hold, at most
// parallel at once.
func forEach(runs []*hostRun, parallel int, fn func(*hostRun)) {
	var g errgroup.Group
	g.SetLimit(parallel)
	for _, r := range runs {
		if r.quarantine != nil || r.held {
			continue
		}
		g.Go(func() error { fn(r); return nil })
	}
	_ = g.Wait() // fn reports through the host's state, never an error
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
		h.Unknown, h.Confirmed = r.unknown, r.confirmed
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
