package web

import (
	"context"
	"time"
)

// Source is where the page reads the fleet's status. Nothing in it hands
// over the whole fleet: the fleet page reads the summary and one page of
// hosts, the other pages the one host or resource they show.
type Source interface {
	// Summary returns the fleet at a glance; it must cost nothing per host.
	Summary() *Summary
	// Hosts returns one page of hosts in name order.
	Hosts(q HostQuery) (*HostPage, error)
	// Host returns one host with its resources and last actions, nil when
	// the manifests have no such host.
	Host(name string) *Host
	// Resource returns one resource with its state on every host it
	// targets, nil when there is no such resource.
	Resource(kind, name string) *Resource
	// Search returns at most limit hosts and limit resources whose name or
	// one of whose labels (key=value) contains query, ignoring case.
	Search(query string, limit int) ([]Host, []Resource)
	// Subscribe returns a channel that receives a value after the status
	// changes; values may be coalesced. It is closed when ctx is done.
	Subscribe(ctx context.Context) <-chan struct{}
}

// Summary is the fleet in counts, with what the fleet page shows above its
// table.
type Summary struct {
	UpdatedAt time.Time
	// Conditions of the controller itself (Ready, ConfigValid).
	Conditions []Condition
	// Config says whether the current manifests loaded.
	Config Config
	// Rollout is the rollout in progress, or nil when there is none.
	Rollout *Rollout
	// Hosts counts every host; Counts splits them by Class.
	Hosts  int
	Counts map[State]int
}

// HostQuery selects a page of hosts.
type HostQuery struct {
	// Class keeps hosts of one class (StateReady, StateQuarantined,
	// StatePending); "" keeps all.
	Class State
	// Selector keeps hosts with these labels: key=value[,key2=value2].
	Selector string
	// Contains keeps hosts whose name contains it, ignoring case.
	Contains string
	Limit    int
	// Continue is the Continue of the previous page.
	Continue string
}

// HostPage is one page of hosts.
type HostPage struct {
	Hosts []Host
	// Continue fetches the next page; "" on the last.
	Continue string
	// Total counts the hosts the query selects, -1 when not known without
	// walking the fleet.
	Total int
}

// Classes are the states the summary counts and the fleet page filters
// by: a host is Ready, Quarantined, or Pending (any other state).
var Classes = []State{StateQuarantined, StatePending, StateReady}

// Reconciler is implemented by a Source that can queue a host for an
// immediate reconcile. The page offers "reconcile now" only when the
// source implements it and the caller's token has write scope.
type Reconciler interface {
	Reconcile(host string) error
}

// RunHistory is implemented by a Source that records each host's
// reconciles. The host page asks it for the latest runs only when it is
// rendered, so the fleet page never pays for reading them.
type RunHistory interface {
	// HostRuns returns the host's last n runs, newest first.
	HostRuns(ctx context.Context, host string, n int) ([]Run, error)
}

// State is a host's state as the page shows it.
type State string

// Host states, in the order the fleet table lists them: hosts that need
// attention first.
const (
	StateQuarantined State = "Quarantined"
	StateUnconverged State = "Unconverged"
	StateReconciling State = "Reconciling"
	StatePending     State = "Pending"
	StateReady       State = "Ready"
)

// States lists every state in display order.
var States = []State{StateQuarantined, StateUnconverged, StateReconciling, StatePending, StateReady}

// Config is the validity of the manifests the controller watches.
type Config struct {
	// Known is false until the first load.
	Known bool
	Valid bool
	// Message is the summary of the last successful load, or of the failure.
	Message string
	// Errors of the current manifests, each with its file:line when known.
	Errors []ConfigError
	Since  time.Time
}

// ConfigError is one problem of the current manifests.
type ConfigError struct {
	// Location is file:line, or "" when the problem has none.
	Location string
	Message  string
}

// Condition is a Kubernetes-style condition.
type Condition struct {
	Type    string
	Status  string
	Reason  string
	Message string
	Since   time.Time
}

// Host is one host's status.
type Host struct {
	Name    string
	Address string
	Labels  map[string]string
	State   State
	// Reason says why the host is not Ready, "" when it is.
	Reason     string
	Conditions []Condition
	// LastRun is the last reconcile, nil before the first.
	LastRun *Run
	// Failures counts consecutive failed reconciles.
	Failures int
	// NextRetry is when a failing host is tried again (zero: not failing).
	NextRetry time.Time
	// Backoff is the delay before NextRetry.
	Backoff time.Duration
	// Resources lists every resource targeting the host.
	Resources []HostResource
	// LastActions are the actions of the last reconcile that had any,
	// redacted, with their outcome.
	LastActions []Action
	// History lists earlier reconciles, newest first, when recorded.
	History []Run
}

// Run summarises one reconcile of one host.
type Run struct {
	Start    time.Time
	Duration time.Duration
	Cycles   int
	Changed  int
	Failed   int
	// Result is converged, failed or unconverged.
	Result string
	Reason string
}

// HostResource is a resource's state on the host page.
type HostResource struct {
	Kind, Name string
	// State is converged, pending, failed or unknown.
	State      string
	Message    string
	LastChange time.Time
}

// Action is one planned or performed action, as the CLI prints it.
type Action struct {
	Cycle       int
	Resource    string
	Op          string
	Description string
	Changes     []Change
	// Diff lines of text content, already redacted.
	Diff []string
	// Status is planned, ok, failed or skipped.
	Status string
	Error  string
	At     time.Time
}

// Change is one field's before and after, redacted where secret.
type Change struct {
	Field, Before, After string
}

// Resource is one resource's status over the hosts it targets.
type Resource struct {
	Kind, Name string
	Labels     map[string]string
	Ready      bool
	Reason     string
	Message    string
	Hosts      []ResourceOnHost
}

// ResourceOnHost is a resource's state on one host.
type ResourceOnHost struct {
	Host       string
	State      string
	Message    string
	LastChange time.Time
}

// Rollout is a staged rollout of a manifest change.
type Rollout struct {
	Generation string
	// Previous is the generation the hosts not yet rolled keep.
	Previous string
	// Phase is Progressing, Paused, Halted, Complete or Aborted.
	Phase string
	// Batch is the current batch, from 1, of Batches.
	Batch, Batches int
	// Total counts the hosts the change touches; Done, Failed and Pending
	// split them (the rest are being reconciled).
	Total, Done, Failed, Pending int
	// Budget is the failure budget as the policy states it ("1", "10%").
	Budget string
	// Failures name the failed hosts, by host name.
	Failures []RolloutFailure
	Message  string
}

// RolloutFailure is one failed host of a rollout.
type RolloutFailure struct {
	Host string
	// Resources are the failing resources, "Kind/name: reason".
	Resources []string
	// Reason says why the host failed when no resource is to blame
	// (unreachable, a check that did not pass).
	Reason string
}

// ID is "Kind/name".
func (r *Resource) ID() string { return r.Kind + "/" + r.Name }
