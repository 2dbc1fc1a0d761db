package reconcilers

import (
	"context"
	"fmt"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

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
	// Replaces, on an action a Refresher returns, is the Op of the planned
	// action it takes the place of (the first with that Op): one command
	// that decides at act time, where two would do the work twice or the
	// wrong one. A service's refresh replaces its start: it restarts the
	// service if a package script started it since it was observed.
	Replaces Op `json:"-"`
}

// Request is one resource to plan on one host, its spec untyped: what the
// engine hands to a Reconciler. Kinds see TypedRequest instead.
type Request struct {
	Host     *v1alpha1.Host
	Resource *v1alpha1.Resource
	Facts    *Facts
	// Changed, for Refresh only, are the resource's triggers that change in
	// this cycle, in the order Triggers lists them; empty when the refresh
	// is owed by an earlier run that did not finish.
	Changed []v1alpha1.ResourceRef
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
	// cycle (req.Changed names them); planned are the actions Plan already
	// returned for the resource. The engine appends what Refresh returns to
	// planned, except that an action with Replaces set takes the place of
	// the planned action it names.
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

// HostChecker is implemented by kinds whose specs can only be checked
// against the hosts they target, such as a File template that reads a host's
// vars. The loader calls it for every resource and every host it targets,
// before any host is touched, so that optimus validate finds the problem at
// its file and line; host facts are not known then, so a check must not
// fail for want of them.
type HostChecker interface {
	CheckHost(res *v1alpha1.Resource, host *v1alpha1.Host) []v1alpha1.FieldError
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
