package v1alpha1

// HostGroupSpec declares many Hosts that share one spec: each member becomes
// a Host named after it, with the template's spec, the member's address and
// port, and the template's labels and vars merged with the member's own.
// A generated Host is a Host like a written one: selectors match its labels,
// it carries the optimus.dev/host label, and it has its own status.
type HostGroupSpec struct {
	// Template is what every member shares.
	Template HostTemplate `json:"template"`
	// Members are the hosts of the group, one Host each.
	Members []HostGroupMember `json:"members" validate:"required,min=1,dive"`
}

// HostTemplate is the shared part of the Hosts of a group.
type HostTemplate struct {
	// Metadata carries labels and annotations every member gets.
	Metadata HostTemplateMeta `json:"metadata,omitempty"`
	// Spec is the Host spec every member gets; a member's address, port
	// and vars take precedence.
	Spec HostSpec `json:"spec,omitempty"`
}

// HostTemplateMeta is the metadata a template gives every member.
type HostTemplateMeta struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// HostGroupMember is one host of a group.
type HostGroupMember struct {
	// Name of the generated Host.
	Name string `json:"name" validate:"required"`
	// Address is an IP address or DNS name, optionally with a port:
	// 10.0.0.5, web1.example.com:2222, [2001:db8::1]:22.
	Address string `json:"address,omitempty"`
	// Port is the SSH port, when the address does not give one.
	Port int `json:"port,omitempty" validate:"omitempty,min=1,max=65535"`
	// Labels are added to the template's labels.
	Labels map[string]string `json:"labels,omitempty"`
	// Vars are added to the template's vars.
	Vars map[string]any `json:"vars,omitempty"`
}

// HostGroupKind is the kind that stamps out Hosts.
var HostGroupKind = kind[HostGroupSpec]("HostGroup", "Many Hosts sharing one spec: a template plus a list of members.")
