package reconcilers

import (
	"fmt"
	"sort"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// Registry maps kinds to their reconcilers. It is the framework's extension
// point: built-in and custom reconcilers are registered the same way.
type Registry struct {
	byKind map[string]*entry
	// shared maps the Key of every declared shared query to its script.
	shared map[string]string
}

// entry is a registered reconciler with its optional hooks resolved once.
type entry struct {
	rec       Reconciler
	deps      DependencyLister
	refresher Refresher
	combiner  Combiner
	checker   HostChecker
	shared    map[string]bool
}

// Hooks are the optional interfaces of a Reconciler, nil where it has none.
type Hooks struct {
	Dependencies DependencyLister
	Refresher    Refresher
	Combiner     Combiner
	Shared       SharedQuerier
	HostChecker  HostChecker
}

// HooksProvider is implemented by a Reconciler that wraps another and so
// cannot say through its own method set which optional interfaces it has:
// the typed adapter, or a wrapper that times a kind.
type HooksProvider interface {
	Hooks() Hooks
}

// HooksOf returns the optional interfaces r implements.
func HooksOf(r Reconciler) Hooks {
	if hp, ok := r.(HooksProvider); ok {
		return hp.Hooks()
	}
	var h Hooks
	h.Dependencies, _ = r.(DependencyLister)
	h.Refresher, _ = r.(Refresher)
	h.Combiner, _ = r.(Combiner)
	h.Shared, _ = r.(SharedQuerier)
	h.HostChecker, _ = r.(HostChecker)
	return h
}

// NewRegistry registers rs. Two reconcilers for one kind, or two kinds that
// declare one shared query Key with different scripts, are errors.
func NewRegistry(rs ...Reconciler) (*Registry, error) {
	reg := &Registry{byKind: map[string]*entry{}, shared: map[string]string{}}
	sharedBy := map[string]string{}
	for _, r := range rs {
		if _, dup := reg.byKind[r.Kind()]; dup {
			return nil, fmt.Errorf("two reconcilers registered for kind %s", r.Kind())
		}
		h := HooksOf(r)
		e := &entry{rec: r, deps: h.Dependencies, refresher: h.Refresher, combiner: h.Combiner, checker: h.HostChecker, shared: map[string]bool{}}
		if sq := h.Shared; sq != nil {
			for _, q := range sq.SharedQueries() {
				if q.Key == "" || strings.HasPrefix(q.Key, PathsKeyPrefix) {
					return nil, fmt.Errorf("kind %s: shared query key %q is empty or reserved (%s...)", r.Kind(), q.Key, PathsKeyPrefix)
				}
				if s, ok := reg.shared[q.Key]; ok && s != q.Script {
					return nil, fmt.Errorf("kinds %s and %s declare the shared query %q with different scripts: give one of them another key, or share one Query value",
						sharedBy[q.Key], r.Kind(), q.Key)
				}
				reg.shared[q.Key], e.shared[q.Key] = q.Script, true
				if _, ok := sharedBy[q.Key]; !ok {
					sharedBy[q.Key] = r.Kind()
				}
			}
		}
		reg.byKind[r.Kind()] = e
	}
	return reg, nil
}

// NewKindRegistry registers the reconcilers of kinds, checking first that
// each kind's reconciler handles that kind and accepts the spec type its
// documents decode to.
func NewKindRegistry(kinds ...Kind) (*Registry, error) {
	var recs []Reconciler
	for _, k := range kinds {
		if k.Reconciler == nil {
			continue
		}
		if err := k.Check(); err != nil {
			return nil, err
		}
		recs = append(recs, k.Reconciler)
	}
	return NewRegistry(recs...)
}

// For returns the reconciler of kind.
func (r *Registry) For(kind string) (Reconciler, bool) {
	e, ok := r.byKind[kind]
	if !ok {
		return nil, false
	}
	return e.rec, true
}

// Refresher returns the Refresher of kind, if it has one.
func (r *Registry) Refresher(kind string) (Refresher, bool) {
	e, ok := r.byKind[kind]
	if !ok || e.refresher == nil {
		return nil, false
	}
	return e.refresher, true
}

// Combiner returns the Combiner of kind, if it has one.
func (r *Registry) Combiner(kind string) (Combiner, bool) {
	e, ok := r.byKind[kind]
	if !ok || e.combiner == nil {
		return nil, false
	}
	return e.combiner, true
}

// CheckHost runs the HostChecker of res's kind, if it has one, for host.
// Its signature is the manifest loader's hook.
func (r *Registry) CheckHost(res *v1alpha1.Resource, host *v1alpha1.Host) []v1alpha1.FieldError {
	e, ok := r.byKind[res.Kind]
	if !ok || e.checker == nil {
		return nil
	}
	return e.checker.CheckHost(res, host)
}

// QueryScope is where the engine keeps the result of q for kind: "" (with
// every kind) for a shared query the kind declared, the kind itself
// otherwise, so that private keys of different kinds never meet. A kind
// that returns a declared shared Key with another script is an error of
// that kind.
func (r *Registry) QueryScope(kind string, q Query) (string, error) {
	e, ok := r.byKind[kind]
	if ok && e.shared[q.Key] {
		if r.shared[q.Key] != q.Script {
			return "", fmt.Errorf("kind %s: query %q differs from the shared query it declared", kind, q.Key)
		}
		return "", nil
	}
	return kind, nil
}

// Kinds lists the registered kinds, sorted.
func (r *Registry) Kinds() []string {
	out := make([]string, 0, len(r.byKind))
	for k := range r.byKind {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Dependencies returns the explicit dependsOn of res plus the implicit edges
// its reconciler declares, without duplicates.
func (r *Registry) Dependencies(res *v1alpha1.Resource, all []*v1alpha1.Resource) []v1alpha1.ResourceRef {
	var out []v1alpha1.ResourceRef
	seen := map[v1alpha1.ResourceRef]bool{}
	add := func(ref v1alpha1.ResourceRef) {
		if !seen[ref] && ref != res.Ref() {
			seen[ref] = true
			out = append(out, ref)
		}
	}
	if t := res.Targeting(); t != nil {
		for _, d := range t.DependsOn {
			add(d)
		}
	}
	if e, ok := r.byKind[res.Kind]; ok {
		if e.refresher != nil {
			for _, d := range e.refresher.Triggers(res) {
				add(d)
			}
		}
		if e.deps != nil {
			for _, d := range e.deps.Dependencies(res, all) {
				add(d)
			}
		}
	}
	return out
}
