package reconcilers

import (
	"context"
	"fmt"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// Object is a resource with its spec as the kind's own type.
type Object[S any] struct {
	Resource *v1alpha1.Resource
	Spec     *S
}

// TypedRequest is one resource to plan on one host, its spec typed.
type TypedRequest[S any] struct {
	Host     *v1alpha1.Host
	Resource *v1alpha1.Resource
	Spec     *S
	// Facts are the host's query results as the kind sees them: its own
	// queries and the shared ones.
	Facts *Facts
	// Changed, for Refresh only: see Request.Changed.
	Changed []v1alpha1.ResourceRef
}

// Object returns the request's resource and spec.
func (r TypedRequest[S]) Object() Object[S] { return Object[S]{Resource: r.Resource, Spec: r.Spec} }

// TypedReconciler is what a kind implements: Reconciler with the spec typed.
// AsReconciler adapts it to the engine.
type TypedReconciler[S any] interface {
	// Kind is the kind this reconciler handles, such as "User".
	Kind() string
	// Queries returns the read-only commands needed to observe objs (all of
	// this kind, all targeting host). They must not change the host.
	Queries(host *v1alpha1.Host, objs []Object[S]) []Query
	// Plan compares the desired state with the facts and returns the actions
	// that would converge the resource; none when it has converged.
	Plan(ctx context.Context, req TypedRequest[S]) ([]Action, error)
}

// TypedDependencyLister is DependencyLister with the spec typed.
type TypedDependencyLister[S any] interface {
	Dependencies(obj Object[S], all []*v1alpha1.Resource) []v1alpha1.ResourceRef
}

// TypedRefresher is Refresher with the spec typed.
type TypedRefresher[S any] interface {
	Triggers(obj Object[S]) []v1alpha1.ResourceRef
	Refresh(ctx context.Context, req TypedRequest[S], planned []Action) ([]Action, error)
}

// TypedHostChecker is HostChecker with the spec typed.
type TypedHostChecker[S any] interface {
	CheckHost(obj Object[S], host *v1alpha1.Host) []v1alpha1.FieldError
}

// TypedCombiner is Combiner with the spec typed.
type TypedCombiner[S any] interface {
	Combinable(req TypedRequest[S], a Action) (key string, items []string)
	Combine(key string, items []string) string
}

// SpecOf returns res's spec when it is an S: how a kind reads the specs of
// other kinds among all resources (for implicit dependencies).
func SpecOf[S any](res *v1alpha1.Resource) (*S, bool) {
	switch s := res.Spec.(type) {
	case *S:
		return s, s != nil
	}
	return nil, false
}

// AsReconciler adapts a typed reconciler to the engine's Reconciler, with
// the optional interfaces (TypedDependencyLister, TypedRefresher,
// TypedCombiner, SharedQuerier) r implements. A resource whose spec is not
// an *S never reaches r: Plan returns an error naming both types, and the
// registry refuses a kind whose documents decode to another type.
func AsReconciler[S any](r TypedReconciler[S]) Reconciler { return adapter[S]{r} }

type adapter[S any] struct{ r TypedReconciler[S] }

var (
	_ Reconciler    = adapter[struct{}]{}
	_ HooksProvider = adapter[struct{}]{}
	_ specChecker   = adapter[struct{}]{}
)

// specChecker is implemented by the adapter so that registration can check
// a kind's spec type.
type specChecker interface {
	checkSpec(spec any) error
}

func (a adapter[S]) checkSpec(spec any) error {
	if _, ok := spec.(*S); !ok {
		return fmt.Errorf("documents decode to %T but the reconciler takes *%T", spec, *new(S))
	}
	return nil
}

func (a adapter[S]) Kind() string { return a.r.Kind() }

func (a adapter[S]) Queries(host *v1alpha1.Host, resources []*v1alpha1.Resource) []Query {
	objs := make([]Object[S], 0, len(resources))
	for _, res := range resources {
		// A resource of the wrong type is left out: its Plan says why.
		if s, ok := SpecOf[S](res); ok {
			objs = append(objs, Object[S]{Resource: res, Spec: s})
		}
	}
	return a.r.Queries(host, objs)
}

func (a adapter[S]) typed(req Request) (TypedRequest[S], error) {
	s, ok := SpecOf[S](req.Resource)
	if !ok {
		return TypedRequest[S]{}, fmt.Errorf("%s: spec is %T, reconciler %s takes *%T", req.Resource.ID(), req.Resource.Spec, a.r.Kind(), *new(S))
	}
	return TypedRequest[S]{Host: req.Host, Resource: req.Resource, Spec: s, Facts: req.Facts, Changed: req.Changed}, nil
}

func (a adapter[S]) Plan(ctx context.Context, req Request) ([]Action, error) {
	tr, err := a.typed(req)
	if err != nil {
		return nil, err
	}
	return a.r.Plan(ctx, tr)
}

// Hooks implements HooksProvider with the optional interfaces of the typed
// reconciler, adapted.
func (a adapter[S]) Hooks() Hooks {
	var h Hooks
	if x, ok := a.r.(TypedDependencyLister[S]); ok {
		h.Dependencies = depsAdapter[S]{x}
	}
	if x, ok := a.r.(TypedRefresher[S]); ok {
		h.Refresher = refreshAdapter[S]{a, x}
	}
	if x, ok := a.r.(TypedCombiner[S]); ok {
		h.Combiner = combineAdapter[S]{a, x}
	}
	h.Shared, _ = a.r.(SharedQuerier)
	if x, ok := a.r.(TypedHostChecker[S]); ok {
		h.HostChecker = hostCheckAdapter[S]{x}
	}
	return h
}

type hostCheckAdapter[S any] struct{ c TypedHostChecker[S] }

func (a hostCheckAdapter[S]) CheckHost(res *v1alpha1.Resource, host *v1alpha1.Host) []v1alpha1.FieldError {
	s, ok := SpecOf[S](res)
	if !ok {
		return nil
	}
	return a.c.CheckHost(Object[S]{Resource: res, Spec: s}, host)
}

type depsAdapter[S any] struct{ d TypedDependencyLister[S] }

func (a depsAdapter[S]) Dependencies(res *v1alpha1.Resource, all []*v1alpha1.Resource) []v1alpha1.ResourceRef {
	s, ok := SpecOf[S](res)
	if !ok {
		return nil
	}
	return a.d.Dependencies(Object[S]{Resource: res, Spec: s}, all)
}

type refreshAdapter[S any] struct {
	a  adapter[S]
	rf TypedRefresher[S]
}

func (a refreshAdapter[S]) Triggers(res *v1alpha1.Resource) []v1alpha1.ResourceRef {
	s, ok := SpecOf[S](res)
	if !ok {
		return nil
	}
	return a.rf.Triggers(Object[S]{Resource: res, Spec: s})
}

func (a refreshAdapter[S]) Refresh(ctx context.Context, req Request, planned []Action) ([]Action, error) {
	tr, err := a.a.typed(req)
	if err != nil {
		return nil, err
	}
	return a.rf.Refresh(ctx, tr, planned)
}

type combineAdapter[S any] struct {
	a adapter[S]
	c TypedCombiner[S]
}

func (a combineAdapter[S]) Combinable(req Request, act Action) (string, []string) {
	tr, err := a.a.typed(req)
	if err != nil {
		return "", nil
	}
	return a.c.Combinable(tr, act)
}

func (a combineAdapter[S]) Combine(key string, items []string) string { return a.c.Combine(key, items) }
