package v1alpha1

import "time"

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
	// Transport is how commands reach the host: ssh (default), local (the
	// machine running optimus) or docker (docker exec into container).
	Transport string `json:"transport,omitempty" validate:"omitempty,oneof=ssh local docker"`
	// Container is the container name or ID, for transport docker.
	Container string `json:"container,omitempty" validate:"required_if=Transport docker"`
	// Vars are free-form values that File templates can use as .Vars.
	Vars map[string]any `json:"vars,omitempty"`
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
