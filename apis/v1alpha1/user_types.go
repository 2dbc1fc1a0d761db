package v1alpha1

import (
	"fmt"
	"strings"
)

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
	// Groups are the supplementary groups. Omitted: left as they are;
	// listed (even "groups: []", which means none): enforced exactly, or
	// only added with append.
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

var _ SecretChecker = (*UserSpec)(nil)

// CheckSecret checks that the password hash looks like a crypt(3) hash.
func (s *UserSpec) CheckSecret(path, value string) error {
	if path == "passwordHashFrom" {
		return CheckPasswordHash(value)
	}
	return nil
}

// CheckPasswordHash accepts what crypt(3) produces: "$id$" then fields of
// printable characters without a colon ("$6$salt$hash",
// "$y$j9T$salt$hash"). A colon or newline would add fields or lines to
// the shadow file or to chpasswd's input.
func CheckPasswordHash(h string) error {
	if len(h) < 4 || h[0] != '$' || strings.Count(h, "$") < 3 {
		return fmt.Errorf("does not look like a crypt(3) password hash ($id$salt$hash); generate one with mkpasswd or openssl passwd -6")
	}
	for _, c := range h {
		if c <= ' ' || c == ':' || c > '~' {
			return fmt.Errorf("a crypt(3) password hash holds no colon, space, newline or other control character")
		}
	}
	return nil
}
