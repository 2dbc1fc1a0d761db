package v1alpha1

// UserSpec is a local account on a host.
type UserSpec struct {
	Targeting `json:",inline"`
	// Name of the account. Default: metadata.name.
	Name string `json:"name,omitempty" validate:"omitempty,max=32,unixname"`
	// State is present (default) or absent.
	State string `json:"state,omitempty" validate:"omitempty,oneof=present absent"`
	// UID is the numeric user ID. Absent: chosen by the host.
	UID *int `json:"uid,omitempty" validate:"omitempty,min=0,max=4294967294"`
	// Group is the primary group. Absent: a group named like the user, as useradd does.
	Group string `json:"group,omitempty" validate:"omitempty,max=32,unixname"`
	// Groups are supplementary groups.
	Groups []string `json:"groups,omitempty" validate:"dive,max=32,unixname"`
	// Append keeps supplementary groups not listed in groups; false makes groups exact.
	Append bool `json:"append,omitempty"`
	// Shell is the login shell, an absolute path.
	Shell string `json:"shell,omitempty" validate:"omitempty,abspath"`
	// Home is the home directory, an absolute path. Default /home/NAME.
	Home string `json:"home,omitempty" validate:"omitempty,abspath"`
	// CreateHome creates the home directory when the user is created. Default true.
	CreateHome *bool `json:"createHome,omitempty"`
	// System creates a system account (low UID, no aging).
	System bool `json:"system,omitempty"`
	// Comment is the GECOS field, usually the full name.
	Comment string `json:"comment,omitempty" validate:"excludesall=:\n"`
	// PasswordHashFrom is where the crypt(3) password hash comes from (a secret).
	PasswordHashFrom *SecretSource `json:"passwordHashFrom,omitempty"`
	// RemoveHome deletes the home directory and mail spool when state is absent.
	RemoveHome bool `json:"removeHome,omitempty"`
}

// Default fills in defaults.
func (s *UserSpec) Default(m *ObjectMeta) {
	if s.Name == "" {
		s.Name = m.Name
	}
	if s.State == "" {
		s.State = StatePresent
	}
	if s.CreateHome == nil {
		t := true
		s.CreateHome = &t
	}
}

// GroupSpec is a local group on a host.
type GroupSpec struct {
	Targeting `json:",inline"`
	// Name of the group. Default: metadata.name.
	Name string `json:"name,omitempty" validate:"omitempty,max=32,unixname"`
	// State is present (default) or absent.
	State string `json:"state,omitempty" validate:"omitempty,oneof=present absent"`
	// GID is the numeric group ID. Absent: chosen by the host.
	GID *int `json:"gid,omitempty" validate:"omitempty,min=0,max=4294967294"`
	// System creates a system group (low GID).
	System bool `json:"system,omitempty"`
}

// Default fills in defaults.
func (s *GroupSpec) Default(m *ObjectMeta) {
	if s.Name == "" {
		s.Name = m.Name
	}
	if s.State == "" {
		s.State = StatePresent
	}
}

// Common values of state fields.
const (
	StatePresent = "present"
	StateAbsent  = "absent"
	StateLatest  = "latest"
	StateRunning = "running"
	StateStopped = "stopped"
)
