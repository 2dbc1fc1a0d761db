package reconcilers

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/transport"
)

// Query is a read-only shell command. Queries with the same Key are run once
// per host per cycle and their result is shared by every resource, so
// reconcilers of different kinds that need the same data use the same Key and
// Script (see the Query* values of this package).
type Query struct {
	Key    string
	Script string
	// Paths, set by PathsQuery, lets the engine merge the path queries of
	// every kind on a host into one command.
	Paths []PathRequest
}

// Facts are the results of a cycle's queries on one host, by Key. Output
// that many resources read (getent passwd, the paths query) is parsed once
// per cycle through Parsed, not once per resource.
type Facts struct {
	*factStore
	// scope is the kind whose private queries this view sees; empty for
	// the engine's own view.
	scope string
}

type factStore struct {
	shared  map[string]transport.Result
	private map[string]map[string]transport.Result // by kind, then Key
	mu      sync.Mutex
	memo    map[string]any
}

// NewFacts wraps the results of shared queries by Key; tests use it to plan
// from canned output. Add records more.
func NewFacts(results map[string]transport.Result) *Facts {
	if results == nil {
		results = map[string]transport.Result{}
	}
	return &Facts{factStore: &factStore{shared: results, private: map[string]map[string]transport.Result{}, memo: map[string]any{}}}
}

// Add records the result of the query with key run for scope: a kind for
// the kind's private queries, "" for a shared one (Registry.QueryScope).
// It is not safe for use while the facts are read.
func (f *Facts) Add(scope, key string, r transport.Result) {
	if scope == "" {
		f.shared[key] = r
		return
	}
	if f.private[scope] == nil {
		f.private[scope] = map[string]transport.Result{}
	}
	f.private[scope][key] = r
}

// For returns the view of kind: its private queries by their own Key, and
// the shared ones. Views share parsed values.
func (f *Facts) For(kind string) *Facts { return &Facts{factStore: f.factStore, scope: kind} }

// lookup finds key in this view, the kind's private queries first; private
// tells which, for memoizing.
func (f *Facts) lookup(key string) (r transport.Result, private, ok bool) {
	if r, ok := f.private[f.scope][key]; ok && f.scope != "" {
		return r, true, true
	}
	r, ok = f.shared[key]
	return r, false, ok
}

// Get returns the result of the query with key, which must have been declared.
func (f *Facts) Get(key string) (transport.Result, error) {
	r, _, ok := f.lookup(key)
	if !ok {
		return transport.Result{}, fmt.Errorf("query %q was not declared by the reconciler", key)
	}
	return r, nil
}

// Stdout returns the standard output of a query that must have exited 0.
func (f *Facts) Stdout(key string) (string, error) {
	r, err := f.Get(key)
	if err != nil {
		return "", err
	}
	if r.ExitCode != 0 {
		return "", fmt.Errorf("query %s exited %d: %s", key, r.ExitCode, firstLine(r.Stderr))
	}
	if err := checkOutput(key, r); err != nil {
		return "", err
	}
	return string(r.Stdout), nil
}

// Keys lists the keys that start with prefix, sorted.
func (f *Facts) Keys(prefix string) []string {
	var keys []string
	for k := range f.shared {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	if f.scope != "" {
		for k := range f.private[f.scope] {
			if strings.HasPrefix(k, prefix) {
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return slices.Compact(keys)
}

// Parsed returns parse(stdout of key), computed once per Facts: every
// resource of a host shares the parsed value. For one key and result type,
// callers must pass the same parse function.
func Parsed[T any](f *Facts, key string, parse func(stdout string) (T, error)) (T, error) {
	var zero T
	memoKey := fmt.Sprintf("%s\x00%T", key, zero)
	if _, private, _ := f.lookup(key); private {
		memoKey = f.scope + "\x00" + memoKey
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.memo[memoKey]; ok {
		return v.(T), nil
	}
	out, err := f.Stdout(key)
	if err != nil {
		return zero, err
	}
	v, err := parse(out)
	if err != nil {
		return zero, err
	}
	f.memo[memoKey] = v
	return v, nil
}

func firstLine(b []byte) string {
	for i, c := range b {
		if c == '\n' {
			return string(b[:i])
		}
	}
	return string(b)
}

// Op says what an action does to a resource, for the plan's marker.
type Op string

// Operations.
const (
	OpCreate  Op = "create"
	OpUpdate  Op = "update"
	OpDelete  Op = "delete"
	OpRun     Op = "run"
	OpRestart Op = "restart"
	// OpNote is not an action but a note for the plan: a difference no
	// action can remove on this host, such as a live value the host
	// withholds. It has no Script; the engine reports it apart, never runs
	// it and never counts it as a change, so it cannot keep a run from
	// converging nor make diff report drift.
	OpNote Op = "note"
)

// Note is an OpNote action with its text.
func Note(text string) Action { return Action{Op: OpNote, Description: text} }

// SplitNotes separates the notes from the actions that change something.
func SplitNotes(planned []Action) (actions []Action, notes []string) {
	for _, a := range planned {
		if a.Op == OpNote {
			notes = append(notes, a.Description)
		} else {
			actions = append(actions, a)
		}
	}
	return actions, notes
}

// Change is one field's before and after, already redacted where secret.
type Change struct {
	Field  string `json:"field"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Redacted stands in for every secret value in plans, logs and status.
const Redacted = "(redacted)"

// Action is one step that moves a resource towards its desired state.
type Action struct {
	// Op classifies the action.
	Op Op `json:"op"`
	// Description is one line for people: "create user alice".
	Description string `json:"description"`
	// Changes lists before/after per field, with secrets redacted.
	Changes []Change `json:"changes,omitempty"`
	// Diff is an optional unified diff of text content (already redacted).
	Diff string `json:"diff,omitempty"`
	// Script is the shell command that performs the action. It must not
	// contain secrets: those go in Stdin.
	Script string `json:"-"`
	// Stdin is fed to Script; secrets travel here, never on a command line.
	Stdin []byte `json:"-"`
	// Secrets are values the engine scrubs from any output it shows.
	Secrets []string `json:"-"`
	// Timeout, when set, is how long the action may take by its own
	// account (an Exec's timeout): the act deadline of its batch is
	// extended so that it always covers the timeouts of its actions.
	Timeout time.Duration `json:"-"`
}

// Request is one resource to plan on one host, its spec untyped: what the
// engine hands to a Reconciler. Kinds see TypedRequest instead.
type Request struct {
	Host     *v1alpha1.Host
	Resource *v1alpha1.Resource
	Facts    *Facts
}

// Reconciler is the untyped contract the engine works through. Kinds
// implement TypedReconciler and are adapted by AsReconciler (NewKind and
// KindFor do it), so that no kind asserts its spec type.
type Reconciler interface {
	// Kind is the kind this reconciler handles, such as "User".
	Kind() string
	// Queries returns the read-only commands needed to observe resources (all
	// of this kind, all targeting host). They must not change the host.
	Queries(host *v1alpha1.Host, resources []*v1alpha1.Resource) []Query
	// Plan compares the desired state with the facts and returns the actions
	// that would converge the resource; none when it has converged.
	Plan(ctx context.Context, req Request) ([]Action, error)
}

// DependencyLister is implemented by reconcilers whose kind has implicit
// ordering: a User after the Groups it names, a File after its Directory.
// The engine and the loader add the returned edges to dependsOn.
type DependencyLister interface {
	Dependencies(res *v1alpha1.Resource, all []*v1alpha1.Resource) []v1alpha1.ResourceRef
}

// Refresher is implemented by kinds that react to other resources changing in
// the same run (a Service restarting, an Exec with refreshOnly running).
type Refresher interface {
	// Triggers lists the resources whose change calls for a refresh.
	Triggers(res *v1alpha1.Resource) []v1alpha1.ResourceRef
	// Refresh returns the actions to run because a trigger changes in this
	// cycle; planned are the actions Plan already returned for the resource
	// (a service about to be started needs no restart).
	Refresh(ctx context.Context, req Request, planned []Action) ([]Action, error)
}

// Combiner is implemented by kinds whose actions are cheaper as one command
// per host. The engine merges actions with the same key only where the order
// of the host's other actions allows it.
//
// A merged command that succeeds succeeds for every resource in it, in the
// one round trip of the act phase. One that fails does not fail them all:
// the engine then runs each merged action's own Script alone, in a second
// round trip, together with what was skipped only because of the merged
// command. Only the actions that fail on their own fail, each with its own
// output; what depends on the others runs. So every action a Combiner merges
// must keep a Script that does its part alone, and a merged command that
// fails must leave the host where those scripts can still run (a package
// transaction that installs nothing when one name is unknown does; so does
// any command that is safe to run again).
type Combiner interface {
	// Combinable returns the key under which an action Plan returned for
	// req may be merged with others, and what it contributes to the merged
	// command (package names, for example); an empty key keeps it alone.
	Combinable(req Request, a Action) (key string, items []string)
	// Combine returns the one command that does what the actions with key
	// and, together, these items would have done.
	Combine(key string, items []string) string
}

// SharedQuerier is implemented by kinds that read the same data as other
// kinds through one query (QueryPasswd, QueryGroup, ...). A query whose Key
// a kind does not declare here is private to the kind: the engine keeps it
// apart from every other kind's queries, so keys of different kinds never
// clash. Registration refuses two kinds that declare one Key with two
// different scripts.
type SharedQuerier interface {
	SharedQueries() []Query
}

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
	shared    map[string]bool
}

// Hooks are the optional interfaces of a Reconciler, nil where it has none.
type Hooks struct {
	Dependencies DependencyLister
	Refresher    Refresher
	Combiner     Combiner
	Shared       SharedQuerier
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
		e := &entry{rec: r, deps: h.Dependencies, refresher: h.Refresher, combiner: h.Combiner, shared: map[string]bool{}}
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

// Kind bundles a resource type with its reconciler: what a tool built with
// Optimus is assembled from. Each built-in reconciler package exports one
// (user.Kind, file.Kind, ...); a custom kind is declared the same way.
type Kind struct {
	// Type describes the documents of the kind.
	Type v1alpha1.KindType
	// Reconciler converges resources of the kind; nil for kinds that are
	// not applied to hosts (Host).
	Reconciler Reconciler
}

// Check reports a kind whose reconciler handles another kind or another
// spec type than the kind's documents decode to.
func (k Kind) Check() error {
	if k.Reconciler == nil {
		return nil
	}
	if got := k.Reconciler.Kind(); got != k.Type.Kind {
		return fmt.Errorf("kind %s: its reconciler handles %s", k.Type.Kind, got)
	}
	if k.Type.NewSpec == nil {
		return fmt.Errorf("kind %s: no NewSpec", k.Type.Kind)
	}
	if sc, ok := k.Reconciler.(specChecker); ok {
		if err := sc.checkSpec(k.Type.NewSpec()); err != nil {
			return fmt.Errorf("kind %s: %w", k.Type.Kind, err)
		}
	}
	return nil
}

// NewKind declares a kind whose spec type is S (a struct embedding
// v1alpha1.Targeting, with json and validate tags), reconciled by r, which
// receives every resource's spec as *S.
func NewKind[S any](apiVersion, kind, description string, r TypedReconciler[S]) Kind {
	return Kind{
		Type:       v1alpha1.KindType{APIVersion: apiVersion, Kind: kind, Description: description, NewSpec: func() any { return new(S) }},
		Reconciler: AsReconciler(r),
	}
}

// KindFor bundles an existing kind type with a typed reconciler. Whether t
// decodes to *S is checked when the kind is registered (Kind.Check).
func KindFor[S any](t v1alpha1.KindType, r TypedReconciler[S]) Kind {
	return Kind{Type: t, Reconciler: AsReconciler(r)}
}
