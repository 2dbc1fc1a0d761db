package v1alpha1

import "time"

// Condition types reported by optimus-controller.
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionQuarantined = "Quarantined"
	ConditionConfigValid = "ConfigValid"
	// ConditionReplica is a replica's standing in a fleet shared through
	// etcd: True when it may act; reason EtcdUnavailable or ConfigOutOfSync
	// when it may not.
	ConditionReplica = "Replica"
)

// ControllerStatus is everything optimus-controller reports: served at
// /api/v1/status and saved in its state directory.
type ControllerStatus struct {
	// Conditions of the controller itself: ConfigValid, Ready.
	Conditions []Condition `json:"conditions"`
	// Hosts holds one entry per Host of the current manifests.
	Hosts []HostStatus `json:"hosts"`
	// Resources holds one entry per managed resource.
	Resources []ResourceStatus `json:"resources"`
	// UpdatedAt is when the status last changed.
	UpdatedAt time.Time `json:"updatedAt"`
	// Replicas lists the live replicas when the fleet is shared through etcd.
	Replicas []ReplicaStatus `json:"replicas,omitempty"`
	// Version is the build of the controller serving the status.
	Version *BuildInfo `json:"version,omitempty"`
}

// BuildInfo says which build of a binary is running, as optimus version
// prints it.
type BuildInfo struct {
	// Version is the release ("v1.2.3"), the module version a go install
	// built, or "devel" for a build from a source tree.
	Version string `json:"version"`
	// Revision is the commit the binary was built from, when known.
	Revision string `json:"revision,omitempty"`
	// Modified is true when the source tree had uncommitted changes.
	Modified bool `json:"modified"`
	// BuildDate is the time of that commit (RFC 3339), not of the build,
	// so that building again gives the same binary.
	BuildDate string `json:"buildDate,omitempty"`
	// GoVersion is the Go toolchain that built the binary.
	GoVersion string `json:"goVersion"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
}

// ReplicaStatus is one controller replica of a fleet shared through etcd.
type ReplicaStatus struct {
	ID string `json:"id"`
	// Hosts is how many hosts the replica owns now.
	Hosts int `json:"hosts"`
	// Since is when the replica's current lease was granted; LeaseTTL the
	// seconds left on it at the time of reading.
	Since    time.Time `json:"since"`
	LeaseTTL int64     `json:"leaseTTLSeconds"`
	// Digest is the digest of the replica's manifests; InSync says whether
	// it is the fleet's agreed generation.
	Digest string `json:"digest"`
	InSync bool   `json:"inSync"`
	Addr   string `json:"addr,omitempty"`
}

// HostStatus is the observed state of one host.
type HostStatus struct {
	Name    string `json:"name"`
	Address string `json:"address,omitempty"`
	// Replica is the controller replica that owns the host, when the fleet
	// is shared through etcd.
	Replica string `json:"replica,omitempty"`
	// Conditions: Ready, Reconciling, Quarantined.
	Conditions []Condition `json:"conditions"`
	// ObservedGeneration is the hash of the host's spec and of every resource
	// targeting it, as last reconciled.
	ObservedGeneration string `json:"observedGeneration,omitempty"`
	// Resources is the number of resources targeting the host.
	Resources int `json:"resources"`
	// LastRun summarises the last reconcile.
	LastRun *RunSummary `json:"lastRun,omitempty"`
	// LastError is the reason of the last failure, secrets scrubbed.
	LastError string `json:"lastError,omitempty"`
	// Failures counts consecutive failed reconciles (the backoff exponent).
	Failures int `json:"failures,omitempty"`
	// NextRetry is when a quarantined host is probed again.
	NextRetry *time.Time `json:"nextRetry,omitempty"`
}

// RunSummary summarises one reconcile of one host.
type RunSummary struct {
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"durationNs"`
	Cycles   int           `json:"cycles"`
	Changed  int           `json:"changed"`
	Failed   int           `json:"failed"`
	// Result is converged, failed or unconverged.
	Result string `json:"result"`
}

// ResourceStatus is the observed state of one resource over its hosts.
type ResourceStatus struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Conditions: Ready (True when converged on every targeted host).
	Conditions         []Condition `json:"conditions"`
	ObservedGeneration string      `json:"observedGeneration,omitempty"`
	// Hosts lists the state on each targeted host.
	Hosts []ResourceHostState `json:"hosts"`
}

// ResourceState is a resource's state on one host.
type ResourceState string

// Resource states.
const (
	ResourceConverged ResourceState = "converged"
	ResourcePending   ResourceState = "pending"
	ResourceFailed    ResourceState = "failed"
	ResourceUnknown   ResourceState = "unknown"
)

// ResourceHostState is a resource's state on one host.
type ResourceHostState struct {
	Host string `json:"host"`
	// State is converged, pending, failed or unknown.
	State   ResourceState `json:"state"`
	Message string        `json:"message,omitempty"`
}

// FindCondition returns the condition of type t, or nil.
func FindCondition(conds []Condition, t string) *Condition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// SetCondition adds or updates a condition; LastTransitionTime moves only
// when the status changes, as in Kubernetes.
func SetCondition(conds []Condition, c Condition, now time.Time) []Condition {
	if old := FindCondition(conds, c.Type); old != nil {
		if old.Status != c.Status {
			old.LastTransitionTime = now
		}
		old.Status, old.Reason, old.Message, old.ObservedGeneration = c.Status, c.Reason, c.Message, c.ObservedGeneration
		return conds
	}
	c.LastTransitionTime = now
	return append(conds, c)
}
