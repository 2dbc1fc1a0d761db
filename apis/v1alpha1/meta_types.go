package v1alpha1

import (
	"encoding/json"
	"fmt"
	"time"
)

// Group and version of every built-in kind.
const (
	Group      = "optimus.dev"
	Version    = "v1alpha1"
	APIVersion = Group + "/" + Version
)

// TypeMeta names the schema of a document.
type TypeMeta struct {
	// APIVersion is the schema version of the document: optimus.dev/v1alpha1.
	APIVersion string `json:"apiVersion"`
	// Kind is the type of the resource, for example User or File.
	Kind string `json:"kind"`
}

// ObjectMeta is the metadata every resource carries.
type ObjectMeta struct {
	// Name identifies the resource among those of its kind. Lower-case letters,
	// digits, '-', '_' and '.', starting with a letter or digit.
	Name string `json:"name" validate:"required,max=253,resourcename"`
	// Labels are key/value pairs that hostSelector matches against (on Hosts).
	Labels map[string]string `json:"labels,omitempty" validate:"dive,keys,labelkey,endkeys,max=63"`
	// Annotations are free-form notes; Optimus never interprets them.
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ResourceRef names another resource of the same manifest set.
type ResourceRef struct {
	// Kind of the referenced resource, for example Group.
	Kind string `json:"kind" validate:"required"`
	// Name of the referenced resource.
	Name string `json:"name" validate:"required"`
}

func (r ResourceRef) String() string { return r.Kind + "/" + r.Name }

// Targeting is embedded in the spec of every kind that is applied to hosts.
type Targeting struct {
	// HostSelector chooses the hosts this resource applies to, by their labels.
	// Absent: every host.
	HostSelector *LabelSelector `json:"hostSelector,omitempty"`
	// DependsOn lists resources that must converge on a host before this one
	// is acted on there.
	DependsOn []ResourceRef `json:"dependsOn,omitempty" validate:"dive"`
}

// GetTargeting gives access to the targeting fields of any spec that embeds
// Targeting.
func (t *Targeting) GetTargeting() *Targeting { return t }

// Targeted is implemented by every spec that embeds Targeting.
type Targeted interface {
	GetTargeting() *Targeting
}

// SecretSource says where a secret comes from; secrets are never written in a
// manifest in clear. Exactly one of env and file is set.
type SecretSource struct {
	// Env is the name of an environment variable of the optimus process.
	Env string `json:"env,omitempty" validate:"omitempty,envname"`
	// File is a path on the machine running optimus, relative to the manifest
	// file; its content (without a trailing newline) is the secret.
	File string `json:"file,omitempty" optimus:"path"`
}

// Duration is a time span written as a Go duration string, such as "10s" or "5m".
type Duration struct {
	time.Duration
}

// MarshalJSON writes the duration as a string such as "1m30s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string such as "10s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("must be a duration string such as \"10s\" or \"5m\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q (use a form such as \"10s\" or \"5m\")", s)
	}
	if v < 0 {
		return fmt.Errorf("duration %q must not be negative", s)
	}
	d.Duration = v
	return nil
}

// Condition is one aspect of an object's observed state, as in Kubernetes.
type Condition struct {
	// Type of the condition: Ready, Reconciling, Quarantined, ConfigValid.
	Type string `json:"type"`
	// Status is True, False or Unknown.
	Status ConditionStatus `json:"status"`
	// Reason is a CamelCase word for machines.
	Reason string `json:"reason,omitempty"`
	// Message is a sentence for people.
	Message string `json:"message,omitempty"`
	// LastTransitionTime is when Status last changed.
	LastTransitionTime time.Time `json:"lastTransitionTime"`
	// ObservedGeneration is the generation (spec hash) the condition was computed for.
	ObservedGeneration string `json:"observedGeneration,omitempty"`
}

// ConditionStatus is the status of a Condition.
type ConditionStatus string

// Condition statuses.
const (
	ConditionTrue    ConditionStatus = "True"
	ConditionFalse   ConditionStatus = "False"
	ConditionUnknown ConditionStatus = "Unknown"
)
