package controller

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// The engine benchmarks measure what the engine itself costs per resource
// and cycle (matching, ordering, batching, planning bookkeeping, reports)
// with an in-memory host and a reconciler whose own work is a map lookup.
//
//	go test -run '^$' -bench Engine -count 10 ./engine/ | benchstat -

// lookupReconciler is the Marker kind, observed one query per resource so
// that its Plan costs O(1) and what is left is the engine's overhead.
type lookupReconciler struct{}

func (lookupReconciler) Kind() string { return "Marker" }

func (lookupReconciler) Queries(_ *v1alpha1.Host, rs []*v1alpha1.Resource) []reconcilers.Query {
	qs := make([]reconcilers.Query, len(rs))
	for i, r := range rs {
		qs[i] = reconcilers.Query{Key: r.Metadata.Name, Script: "get " + r.Metadata.Name}
	}
	return qs
}

func (lookupReconciler) Plan(_ context.Context, req reconcilers.Request) ([]reconcilers.Action, error) {
	want := req.Resource.Spec.(*markerSpec).Value
	got, err := req.Facts.Stdout(req.Resource.Metadata.Name)
	if err != nil || got == want {
		return nil, err
	}
	name := req.Resource.Metadata.Name
	return []reconcilers.Action{{
		Op: reconcilers.OpUpdate, Description: "set " + name,
		Changes: []reconcilers.Change{{Field: "value", Before: got, After: want}},
		Script:  "set " + name + " " + want,
	}}, nil
}

// mapHost is an in-memory host for lookupReconciler's scripts.
type mapHost struct {
	mu     sync.Mutex
	values map[string]string
}

func (h *mapHost) Batch(_ context.Context, cmds []transport.Command) ([]transport.Result, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	res := make([]transport.Result, len(cmds))
	for i, c := range cmds {
		verb, rest, _ := strings.Cut(c.Script, " ")
		switch verb {
		case "get":
			res[i].Stdout = []byte(h.values[rest])
		case "set":
			k, v, _ := strings.Cut(rest, " ")
			h.values[k] = v
		}
	}
	return res, nil
}

func (h *mapHost) Close() error { return nil }

// engineFleet is hosts × perHost resources, each host with its own
// resources selected by label (as many Host resources with their own
// configuration would be), every third depending on the one before it.
type engineFleet struct {
	eng       *Engine
	hosts     []*v1alpha1.Host
	resources []*v1alpha1.Resource
	state     map[string]*mapHost
}

func newEngineFleet(b *testing.B, hosts, perHost int) *engineFleet {
	reg, err := reconcilers.NewRegistry(lookupReconciler{})
	if err != nil {
		b.Fatal(err)
	}
	f := &engineFleet{state: map[string]*mapHost{}}
	for h := range hosts {
		name := fmt.Sprintf("h%03d", h)
		f.hosts = append(f.hosts, host(name, map[string]string{"bench-host": name}))
		f.state[name] = &mapHost{values: map[string]string{}}
		for i := range perHost {
			var deps []string
			if i%3 == 2 {
				deps = append(deps, fmt.Sprintf("%s-r%04d", name, i-1))
			}
			f.resources = append(f.resources, marker(fmt.Sprintf("%s-r%04d", name, i), "v", map[string]string{"bench-host": name}, deps...))
		}
	}
	f.eng = &Engine{Registry: reg, Dial: func(_ context.Context, h *v1alpha1.Host) (transport.Conn, error) {
		return f.state[h.Metadata.Name], nil
	}}
	return f
}

// reset empties (or, converged, fills) every host.
func (f *engineFleet) reset(converged bool) {
	for _, h := range f.state {
		clear(h.values)
	}
	if converged {
		for _, r := range f.resources {
			f.state[r.Metadata.Name[:4]].values[r.Metadata.Name] = "v"
		}
	}
}

var engineShapes = []struct{ hosts, perHost int }{{1, 1000}, {100, 60}}

func benchmarkEngine(b *testing.B, converged bool, wantCycles int) {
	for _, s := range engineShapes {
		b.Run(fmt.Sprintf("hosts=%d/resources=%d", s.hosts, s.perHost), func(b *testing.B) {
			f := newEngineFleet(b, s.hosts, s.perHost)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				f.reset(converged)
				rep, err := f.eng.Run(ctx, f.hosts, f.resources)
				if err != nil {
					b.Fatal(err)
				}
				if !rep.Converged || rep.Cycles != wantCycles {
					b.Fatalf("converged=%v in %d cycles, want converged in %d", rep.Converged, rep.Cycles, wantCycles)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(f.resources)), "ns/resource")
		})
	}
}

// BenchmarkEngineNoop is a run on converged hosts: one observe+plan cycle.
func BenchmarkEngineNoop(b *testing.B) { benchmarkEngine(b, true, 1) }

// BenchmarkEnginePlanAct is a run on empty hosts: observe, plan, act, and
// the observe that confirms convergence.
func BenchmarkEnginePlanAct(b *testing.B) { benchmarkEngine(b, false, 2) }
