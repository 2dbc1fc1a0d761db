package status

import (
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// Resource states on one host, as kept in ResourceState.State.
const (
	StateConverged = v1alpha1.ResourceConverged
	StatePending   = v1alpha1.ResourcePending
	StateFailed    = v1alpha1.ResourceFailed
	StateUnknown   = v1alpha1.ResourceUnknown
)

// ResourceState is the state of one resource on one host.
type ResourceState struct {
	Ref v1alpha1.ResourceRef `json:"ref"`
	// State is converged, pending, failed or unknown.
	State   v1alpha1.ResourceState `json:"state"`
	Message string                 `json:"message,omitempty"`
}

// Host is the record of one host. A Host reached through a Snapshot, an
// Update or Tracker.Host is never modified afterwards: the tracker replaces
// the record instead, so readers may keep it without copying.
type Host struct {
	// Status is what the API serves for the host: conditions, last run,
	// failures and next retry.
	Status v1alpha1.HostStatus `json:"status"`
	// Resources holds the state of every resource targeting the host, in
	// the order of the manifests.
	Resources []ResourceState `json:"resources"`
	// Passed is true once the host has been reconciled since the controller
	// started (restored records start false).
	Passed bool `json:"passed"`
}

// Class sorts a host into one of the three states counted by Counts.
func (h *Host) Class() string {
	switch {
	case isTrue(h.Status.Conditions, v1alpha1.ConditionReady):
		return ClassReady
	case isTrue(h.Status.Conditions, v1alpha1.ConditionQuarantined):
		return ClassQuarantined
	}
	return ClassPending
}

// Host classes, as counted in Counts and labelled in the optimus_hosts metric.
const (
	ClassReady       = "ready"
	ClassQuarantined = "quarantined"
	ClassPending     = "pending"
)

// Counts summarises the fleet.
type Counts struct {
	Hosts       int `json:"hosts"`
	Ready       int `json:"ready"`
	Quarantined int `json:"quarantined"`
	Pending     int `json:"pending"`
	// Passed counts hosts reconciled at least once since the start.
	Passed int `json:"passed"`
}

// Resource describes one managed resource of the current manifests.
type Resource struct {
	Ref v1alpha1.ResourceRef `json:"ref"`
	// Generation is a hash of the resource's spec.
	Generation string `json:"generation"`
}

// Snapshot is the whole status at one version. It is immutable: share it
// freely, never modify it.
type Snapshot struct {
	// Version grows by one with every change; an Update carries the version
	// it brings a subscriber to.
	Version   uint64    `json:"version"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Conditions of the controller itself: ConfigValid, Ready.
	Conditions []v1alpha1.Condition `json:"conditions"`
	Counts     Counts               `json:"counts"`
	// Hosts sorted by name.
	Hosts []*Host `json:"hosts"`
	// Resources of the current manifests, Hosts excluded, in load order.
	Resources []Resource `json:"resources"`
}

// HostUpdate is the new record of one host, or its removal.
type HostUpdate struct {
	Name string `json:"name"`
	// Host is nil when the host left the manifests.
	Host *Host `json:"host,omitempty"`
}

// Update is a batch of changes delivered to a subscriber: every host that
// changed since the previous batch, each once, with its latest record.
type Update struct {
	Version    uint64               `json:"version"`
	UpdatedAt  time.Time            `json:"updatedAt"`
	Conditions []v1alpha1.Condition `json:"conditions"`
	Counts     Counts               `json:"counts"`
	Hosts      []HostUpdate         `json:"hosts"`
}

func isTrue(conds []v1alpha1.Condition, t string) bool {
	c := v1alpha1.FindCondition(conds, t)
	return c != nil && c.Status == v1alpha1.ConditionTrue
}
