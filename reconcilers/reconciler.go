package reconcilers

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

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
	results map[string]transport.Result
	mu      sync.Mutex
	memo    map[string]any
}

// NewFacts wraps query results; tests use it to plan from canned output.
func NewFacts(results map[string]transport.Result) *Facts {
	return &Facts{results: results, memo: map[string]any{}}
}

// Get returns the result of the query with key, which must have been declared.
func (f *Facts) Get(key string) (transport.Result, error) {
	r, ok := f.results[key]
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
	return string(r.Stdout), nil
}

// Keys lists the keys that start with prefix, sorted.
func (f *Facts) Keys(prefix string) []string {
	var keys []string
	for k := range f.results {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// Parsed returns parse(stdout of key), computed once per Facts: every
// resource of a host shares the parsed value. For one key and result type,
// callers must pass the same parse function.
func Parsed[T any](f *Facts, key string, parse func(stdout string) (T, error)) (T, error) {
	var zero T
	memoKey := fmt.Sprintf("%s\x00%T", key, zero)
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
)

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
	// Combine, when set by a kind that implements Combiner, lets the engine
	// merge this action with those of other resources of the kind on the
	// same host that carry the same key into one command, such as one
	// package-manager transaction for all of a host's packages.
	Combine string `json:"-"`
	// Items are what Combiner merges: package names, for example.
	Items []string `json:"-"`
}

// Request is one resource to plan on one host.
type Request struct {
	Host     *v1alpha1.Host
	Resource *v1alpha1.Resource
	Facts    *Facts
}

// Reconciler is what a kind implements.
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
// per host. The engine merges actions with the same Combine key only where
// the order of the host's other actions allows it; the merged command
// succeeds or fails for every resource in it.
type Combiner interface {
	// Combine returns the one command that does what the actions with key
	// and, together, these items would have done.
	Combine(key string, items []string) string
}

// Registry maps kinds to their reconcilers. It is the framework's extension
// point: built-in and custom reconcilers are registered the same way.
type Registry struct {
	byKind map[string]Reconciler
}

// NewRegistry registers rs; two reconcilers for one kind is an error.
func NewRegistry(rs ...Reconciler) (*Registry, error) {
	reg := &Registry{byKind: map[string]Reconciler{}}
	for _, r := range rs {
		if _, dup := reg.byKind[r.Kind()]; dup {
			return nil, fmt.Errorf("two reconcilers registered for kind %s", r.Kind())
		}
		reg.byKind[r.Kind()] = r
	}
	return reg, nil
}

// For returns the reconciler of kind.
func (r *Registry) For(kind string) (Reconciler, bool) {
	rec, ok := r.byKind[kind]
	return rec, ok
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
	if rec, ok := r.byKind[res.Kind]; ok {
		if rf, ok := rec.(Refresher); ok {
			for _, d := range rf.Triggers(res) {
				add(d)
			}
		}
		if dl, ok := rec.(DependencyLister); ok {
			for _, d := range dl.Dependencies(res, all) {
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

// NewKind declares a kind whose spec type is S (a struct embedding
// v1alpha1.Targeting, with json and validate tags), reconciled by r.
func NewKind[S any](apiVersion, kind, description string, r Reconciler) Kind {
	return Kind{
		Type:       v1alpha1.KindType{APIVersion: apiVersion, Kind: kind, Description: description, NewSpec: func() any { return new(S) }},
		Reconciler: r,
	}
}
