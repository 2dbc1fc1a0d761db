package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/builtin"
	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/manifest"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// PhaseReport is where one phase of one cycle of an in-process run went.
// Sums add up the hosts (which run in parallel); Max is the slowest host.
type PhaseReport struct {
	Run       string  `json:"run"`
	Cycle     int     `json:"cycle"`
	Phase     string  `json:"phase"` // load, observe+plan, act
	WallMs    float64 `json:"wallMs"`
	DialSumMs float64 `json:"dialSumMs,omitempty"`
	DialMaxMs float64 `json:"dialMaxMs,omitempty"`
	RTSumMs   float64 `json:"roundTripSumMs,omitempty"`
	RTMaxMs   float64 `json:"roundTripMaxMs,omitempty"`
	Batches   int     `json:"batches,omitempty"`
	PlanMs    float64 `json:"planCpuMs,omitempty"`
}

// phaseClock accumulates the timings of the current phase.
type phaseClock struct {
	mu               sync.Mutex
	dialSum, dialMax time.Duration
	rtSum, rtMax     time.Duration
	batches          int
	plan             atomic.Int64 // ns in reconcilers' Plan and Queries
	start            time.Time
	cycle            int
	phase            string
	out              []PhaseReport
	run              string
}

func (c *phaseClock) add(sum, maxp *time.Duration, d time.Duration) {
	c.mu.Lock()
	*sum += d
	*maxp = max(*maxp, d)
	if sum == &c.rtSum {
		c.batches++
	}
	c.mu.Unlock()
}

// next closes the current phase and opens another.
// clockObserver moves the clock on to the next phase as the engine plans
// and acts.
type clockObserver struct {
	controller.NopObserver
	clock *phaseClock
}

func (o clockObserver) Planned(*controller.Plan) { o.clock.next("act") }
func (o clockObserver) Acted(*controller.Plan)   { o.clock.next("observe+plan") }

func (c *phaseClock) next(phase string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.phase != "" {
		c.out = append(c.out, PhaseReport{
			Run: c.run, Cycle: c.cycle, Phase: c.phase, WallMs: ms(now.Sub(c.start)),
			DialSumMs: ms(c.dialSum), DialMaxMs: ms(c.dialMax), RTSumMs: ms(c.rtSum), RTMaxMs: ms(c.rtMax),
			Batches: c.batches, PlanMs: float64(c.plan.Swap(0)) / 1e6,
		})
	}
	if phase == "observe+plan" {
		c.cycle++
	}
	c.phase, c.start = phase, now
	c.dialSum, c.dialMax, c.rtSum, c.rtMax, c.batches = 0, 0, 0, 0, 0
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// timedConn times every round trip.
type timedConn struct {
	transport.Conn
	clock *phaseClock
}

func (c timedConn) Batch(ctx context.Context, cmds []transport.Command) ([]transport.Result, error) {
	start := time.Now()
	res, err := c.Conn.Batch(ctx, cmds)
	c.clock.add(&c.clock.rtSum, &c.clock.rtMax, time.Since(start))
	return res, err
}

// timedReconciler times Queries and Plan; it forwards the optional
// interfaces of the kind it wraps through Hooks.
type timedReconciler struct {
	reconcilers.Reconciler
	clock *phaseClock
}

func (r timedReconciler) Queries(h *v1alpha1.Host, res []*v1alpha1.Resource) []reconcilers.Query {
	start := time.Now()
	defer func() { r.clock.plan.Add(int64(time.Since(start))) }()
	return r.Reconciler.Queries(h, res)
}

func (r timedReconciler) Plan(ctx context.Context, req reconcilers.Request) ([]reconcilers.Action, error) {
	start := time.Now()
	defer func() { r.clock.plan.Add(int64(time.Since(start))) }()
	return r.Reconciler.Plan(ctx, req)
}

// Hooks forwards the wrapped kind's optional interfaces, its Refresh timed.
func (r timedReconciler) Hooks() reconcilers.Hooks {
	h := reconcilers.HooksOf(r.Reconciler)
	if h.Refresher != nil {
		h.Refresher = timedRefresher{h.Refresher, r.clock}
	}
	return h
}

type timedRefresher struct {
	reconcilers.Refresher
	clock *phaseClock
}

func (r timedRefresher) Refresh(ctx context.Context, req reconcilers.Request, planned []reconcilers.Action) ([]reconcilers.Action, error) {
	start := time.Now()
	defer func() { r.clock.plan.Add(int64(time.Since(start))) }()
	return r.Refresher.Refresh(ctx, req, planned)
}

// measurePhases converges the manifests in dir in-process (an apply --yes)
// and then runs again as a no-op, timing load, dial, round trips and plan.
func measurePhases(ctx context.Context, dir, label string) ([]PhaseReport, error) {
	var out []PhaseReport
	for _, run := range []string{label + " first", label + " again"} {
		clock := &phaseClock{run: run}
		var recs []reconcilers.Reconciler
		var types []v1alpha1.KindType
		types = append(types, v1alpha1.HostKind)
		for _, k := range builtin.Kinds() {
			types = append(types, k.Type)
			if k.Reconciler != nil {
				recs = append(recs, timedReconciler{k.Reconciler, clock})
			}
		}
		scheme, err := v1alpha1.NewScheme(types...)
		if err != nil {
			return nil, err
		}
		reg, err := reconcilers.NewRegistry(recs...)
		if err != nil {
			return nil, err
		}
		clock.next("load")
		set, err := (&manifest.Loader{Scheme: scheme, Edges: reg.Dependencies}).Load(dir)
		if err != nil {
			return nil, err
		}
		clock.plan.Store(0) // dependency edges while loading are not planning
		clock.next("observe+plan")
		eng := &controller.Engine{
			Registry: reg,
			Dial: func(ctx context.Context, h *v1alpha1.Host) (transport.Conn, error) {
				start := time.Now()
				c, err := transport.Dial(ctx, h)
				clock.add(&clock.dialSum, &clock.dialMax, time.Since(start))
				if err != nil {
					return nil, err
				}
				return timedConn{c, clock}, nil
			},
			Observer: clockObserver{clock: clock},
		}
		rep, err := eng.Run(ctx, set.Hosts(), set.Resources)
		if err != nil {
			return nil, err
		}
		clock.next("")
		if !rep.Converged || len(rep.Failed()) > 0 {
			return nil, fmt.Errorf("%s: in-process run did not converge: %d hosts failed, unconverged %v", run, len(rep.Failed()), rep.Unconverged)
		}
		out = append(out, clock.out...)
	}
	return out, nil
}
