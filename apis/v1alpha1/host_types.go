package v1alpha1

import (
	"fmt"
	"time"
)

// HostSpec says how to reach a machine that Optimus manages.
type HostSpec struct {
	// Address is the IP address or DNS name of the host (ssh transport).
	Address string `json:"address,omitempty" validate:"required_if=Transport ssh,omitempty,hostname_rfc1123|ip"`
	// Port is the SSH port. Default 22.
	Port int `json:"port,omitempty" validate:"omitempty,min=1,max=65535"`
	// User is the SSH login user. Default root.
	User string `json:"user,omitempty" validate:"omitempty,max=32"`
	// PrivateKeyFile is an SSH private key on the machine running optimus,
	// relative to the manifest file.
	PrivateKeyFile string `json:"privateKeyFile,omitempty" optimus:"path"`
	// UseAgent authenticates with the keys of the ssh-agent at $SSH_AUTH_SOCK.
	UseAgent bool `json:"useAgent,omitempty"`
	// PasswordFrom is where the SSH password comes from.
	PasswordFrom *SecretSource `json:"passwordFrom,omitempty"`
	// HostKey says how the host's SSH key is verified.
	HostKey HostKeySpec `json:"hostKey,omitempty"`
	// Become runs every command on the host as another user, through sudo.
	Become *BecomeSpec `json:"become,omitempty"`
	// ConnectTimeout bounds dialling and authenticating. Default 10s.
	ConnectTimeout *Duration `json:"connectTimeout,omitempty"`
	// Timeouts bound every round trip to the host once connected: each
	// observe and each act batch. Defaults: observe 2m, act 10m.
	Timeouts *TimeoutsSpec `json:"timeouts,omitempty"`
	// Jump reaches the host through an SSH bastion (ssh transport): another
	// Host by name, which may itself sit behind a bastion, or an inline
	// address. Every hop's host key is checked like the host's own.
	Jump *JumpSpec `json:"jump,omitempty"`
	// Transport is how commands reach the host: ssh (default), local (the
	// machine running optimus), docker (docker exec into container), or a
	// transport the tool registered.
	Transport string `json:"transport,omitempty" validate:"omitempty,max=63"`
	// Container is the container name or ID, for transport docker.
	Container string `json:"container,omitempty" validate:"required_if=Transport docker"`
	// Settings are the options of a transport the tool registered, checked
	// against that transport's own schema. The built-in transports take none.
	Settings map[string]any `json:"settings,omitempty"`
	// Vars are free-form values that File templates can use as .Vars.
	Vars map[string]any `json:"vars,omitempty"`

	// transports are the tool's transports, set by the kind that made the
	// spec (NewHostKind); nil means the built-in ones.
	transports TransportSchemas
}

// Default deadlines of a host's round trips (see TimeoutsSpec).
const (
	DefaultObserveTimeout = 2 * time.Minute
	DefaultActTimeout     = 10 * time.Minute
	maxTimeout            = 24 * time.Hour
)

// TimeoutsSpec bounds the round trips of a run on a host. When one passes,
// the commands still running on the host are stopped (SIGTERM, then SIGKILL
// to every process they started), the session is closed, and the host fails
// with reason timeout; the other hosts go on.
type TimeoutsSpec struct {
	// Observe bounds each observe round trip: every query of the host,
	// Exec guards (unless, onlyIf) included. Default 2m.
	Observe *Duration `json:"observe,omitempty"`
	// Act bounds each act round trip: every action sent to the host at
	// once. An Exec's own timeout extends it: a batch may always take as
	// long as the timeouts of its Exec commands together. Default 10m.
	Act *Duration `json:"act,omitempty"`
}

var _ Checker = &TimeoutsSpec{}

// Check refuses a zero deadline (nothing could run) and one over a day.
func (t *TimeoutsSpec) Check() []FieldError {
	var errs []FieldError
	for _, f := range []struct {
		path string
		d    *Duration
	}{{"observe", t.Observe}, {"act", t.Act}} {
		switch {
		case f.d == nil:
		case f.d.Duration < time.Second:
			errs = append(errs, FieldError{Path: f.path, Message: fmt.Sprintf("%s is too short to run anything: use at least 1s", f.d.Duration)})
		case f.d.Duration > maxTimeout:
			errs = append(errs, FieldError{Path: f.path, Message: fmt.Sprintf("%s is longer than a day: use at most 24h", f.d.Duration)})
		}
	}
	return errs
}

// ObserveTimeout is the deadline of each observe round trip on the host.
func (s *HostSpec) ObserveTimeout() time.Duration {
	if s != nil && s.Timeouts != nil && s.Timeouts.Observe != nil && s.Timeouts.Observe.Duration > 0 {
		return s.Timeouts.Observe.Duration
	}
	return DefaultObserveTimeout
}

// ActTimeout is the deadline of each act round trip on the host, before an
// Exec's own timeout extends it.
func (s *HostSpec) ActTimeout() time.Duration {
	if s != nil && s.Timeouts != nil && s.Timeouts.Act != nil && s.Timeouts.Act.Duration > 0 {
		return s.Timeouts.Act.Duration
	}
	return DefaultActTimeout
}

// JumpSpec is an SSH bastion in front of a host: either Host, the name of
// another Host resource, or an inline address with its own credentials.
type JumpSpec struct {
	// Host names another Host resource (transport ssh) to use as the bastion;
	// it may have a jump of its own.
	Host string `json:"host,omitempty" validate:"omitempty,max=253"`
	// Address is the bastion's IP address or DNS name, when it is not a Host
	// resource.
	Address string `json:"address,omitempty" validate:"omitempty,hostname_rfc1123|ip"`
	// Port is the bastion's SSH port. Default 22.
	Port int `json:"port,omitempty" validate:"omitempty,min=1,max=65535"`
	// User is the bastion's login user. Default: the host's user.
	User string `json:"user,omitempty" validate:"omitempty,max=32"`
	// PrivateKeyFile is the key for the bastion, relative to the manifest
	// file. Default: the host's privateKeyFile.
	PrivateKeyFile string `json:"privateKeyFile,omitempty" optimus:"path"`
	// HostKey says how the bastion's SSH key is verified. Default: the host's
	// knownHostsFile and policy.
	HostKey HostKeySpec `json:"hostKey,omitempty"`

	// bastion is the Host that Host names, once the manifests are loaded.
	bastion *Host
}

// Bastion returns the Host that j.Host names, once the manifest set that
// holds both has been loaded; nil for an inline bastion.
func (j *JumpSpec) Bastion() *Host { return j.bastion }

// SetBastion records the Host that j.Host names; the loader calls it.
func (j *JumpSpec) SetBastion(h *Host) { j.bastion = h }

var _ Checker = &JumpSpec{}

// Check requires exactly one of host and address, and nothing else beside host.
func (j *JumpSpec) Check() []FieldError {
	switch {
	case j.Host == "" && j.Address == "":
		return []FieldError{{Message: "set one of host (a Host resource) and address (an inline bastion)"}}
	case j.Host != "" && (j.Address != "" || j.Port != 0 || j.User != "" || j.PrivateKeyFile != "" || j.HostKey != HostKeySpec{}):
		return []FieldError{{Path: "host", Message: "a jump names a Host or describes an inline bastion, not both: move address, port, user, privateKeyFile and hostKey into the Host " + j.Host}}
	}
	return nil
}

// HostKeySpec says how a host's SSH key is verified.
type HostKeySpec struct {
	// KnownHostsFile is the known_hosts file to check against, relative to the
	// manifest file. Default ~/.ssh/known_hosts.
	KnownHostsFile string `json:"knownHostsFile,omitempty" optimus:"path"`
	// Policy is strict (default: an unknown or changed key is an error),
	// accept-new (an unknown key is added to knownHostsFile, a changed key is an
	// error) or insecure (no check at all; never use it outside a lab).
	Policy string `json:"policy,omitempty" validate:"omitempty,oneof=strict accept-new insecure"`
}

// BecomeSpec runs commands as another user.
type BecomeSpec struct {
	// Method is how to become the user. Only sudo is supported.
	Method string `json:"method,omitempty" validate:"omitempty,oneof=sudo"`
	// User to become. Default root.
	User string `json:"user,omitempty" validate:"omitempty,max=32"`
	// PasswordFrom is where the sudo password comes from, when sudo asks for one.
	PasswordFrom *SecretSource `json:"passwordFrom,omitempty"`
}

// LabelHostName is a label every Host carries, set to its name, so that a
// selector can pick one host: hostSelector: {matchLabels: {optimus.dev/host: web1}}.
const LabelHostName = "optimus.dev/host"

// GroupLabelPrefix marks the labels that stand for Ansible-style host
// groups, groups.optimus.dev/web: "true": optimus import ansible writes one
// per group of the inventory, and Jinja2 templates see them as group_names.
const GroupLabelPrefix = "groups.optimus.dev/"

// Default fills in defaults, and the LabelHostName label.
func (s *HostSpec) Default(m *ObjectMeta) {
	if m != nil && m.Name != "" && len(m.Name) <= 63 {
		if m.Labels == nil {
			m.Labels = map[string]string{}
		}
		m.Labels[LabelHostName] = m.Name
	}
	if s.Transport == "" {
		s.Transport = "ssh"
	}
	if s.Port == 0 {
		s.Port = 22
	}
	if s.User == "" {
		s.User = "root"
	}
	if s.HostKey.Policy == "" {
		s.HostKey.Policy = "strict"
	}
	if s.ConnectTimeout == nil {
		s.ConnectTimeout = &Duration{10 * time.Second}
	}
	if s.Become != nil {
		if s.Become.Method == "" {
			s.Become.Method = "sudo"
		}
		if s.Become.User == "" {
			s.Become.User = "root"
		}
	}
}
