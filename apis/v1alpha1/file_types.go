package v1alpha1

import (
	"encoding/base64"
	"strings"
)

// FileSpec is a regular file on a host.
type FileSpec struct {
	Targeting `json:",inline"`
	// Path is the absolute path of the file on the host.
	Path string `json:"path" validate:"required,abspath"`
	// Content is the file's content. Exclusive with source.
	Content *string `json:"content,omitempty" validate:"excluded_with=Source"`
	// Source is a local file whose content is copied, relative to the manifest file.
	Source string `json:"source,omitempty" optimus:"path,input"`
	// Template renders content (or source) as a Go text/template with .Host.Name,
	// .Host.Labels and .Vars of the target host, and its facts: .Facts.OS.ID,
	// .Facts.OS.VersionID, .Facts.Arch, .Facts.CPUs, .Facts.MemoryMB,
	// .Facts.Hostname, .Facts.Addresses, .Facts.Interfaces (see optimus facts):
	// "worker_processes {{ .Facts.CPUs }};".
	Template bool `json:"template,omitempty"`
	// Mode is the permission bits in octal, as a string: "0644".
	Mode string `json:"mode,omitempty" validate:"omitempty,filemode"`
	// Owner is the owning user name. Absent: left as it is (root when created).
	Owner string `json:"owner,omitempty" validate:"omitempty,max=32,unixname"`
	// Group is the owning group name. Absent: left as it is.
	Group string `json:"group,omitempty" validate:"omitempty,max=32,unixname"`
	// State is present (default) or absent.
	State string `json:"state,omitempty" validate:"omitempty,oneof=present absent"`
	// Sensitive hides the content and its diff in plans and logs.
	Sensitive bool `json:"sensitive,omitempty"`
	// Validate checks new content before it is installed: it is written to a
	// temporary file next to path, this shell command runs with %s replaced by
	// that file's quoted path, and only when it exits 0 is the file moved into
	// place. Otherwise the File fails with the command's output, the old file
	// is untouched and what depends on the File is skipped:
	// "nginx -t -c %s", "visudo -cf %s".
	Validate string `json:"validate,omitempty" validate:"excludesall=\n\r"`
}

// Default fills in defaults.
func (s *FileSpec) Default(_ *ObjectMeta) {
	if s.State == "" {
		s.State = StatePresent
	}
}

// Check requires %s in validate, where the temporary file's path goes.
func (s *FileSpec) Check() []FieldError {
	if s.Validate != "" && !strings.Contains(s.Validate, "%s") {
		return []FieldError{{Path: "validate", Message: `must contain %s where the new content's temporary path goes, such as "nginx -t -c %s"`}}
	}
	return nil
}

// DirectorySpec is a directory on a host.
type DirectorySpec struct {
	Targeting `json:",inline"`
	// Path is the absolute path of the directory on the host.
	Path string `json:"path" validate:"required,abspath"`
	// Mode is the permission bits in octal, as a string: "0755".
	Mode string `json:"mode,omitempty" validate:"omitempty,filemode"`
	// Owner is the owning user name.
	Owner string `json:"owner,omitempty" validate:"omitempty,max=32,unixname"`
	// Group is the owning group name.
	Group string `json:"group,omitempty" validate:"omitempty,max=32,unixname"`
	// State is present (default) or absent.
	State string `json:"state,omitempty" validate:"omitempty,oneof=present absent"`
	// Force allows removing a directory that is not empty (state absent).
	Force bool `json:"force,omitempty"`
}

// Default fills in defaults.
func (s *DirectorySpec) Default(_ *ObjectMeta) {
	if s.State == "" {
		s.State = StatePresent
	}
}

// SymlinkSpec is a symbolic link on a host.
type SymlinkSpec struct {
	Targeting `json:",inline"`
	// Path is the absolute path of the link.
	Path string `json:"path" validate:"required,abspath"`
	// Target is what the link points to.
	Target string `json:"target,omitempty" validate:"required_unless=State absent"`
	// State is present (default) or absent.
	State string `json:"state,omitempty" validate:"omitempty,oneof=present absent"`
	// Force allows replacing a regular file or empty directory at path.
	Force bool `json:"force,omitempty"`
}

// Default fills in defaults.
func (s *SymlinkSpec) Default(_ *ObjectMeta) {
	if s.State == "" {
		s.State = StatePresent
	}
}

// LineInFileSpec keeps one line of a text file present or absent.
type LineInFileSpec struct {
	Targeting `json:",inline"`
	// Path is the absolute path of the file.
	Path string `json:"path" validate:"required,abspath"`
	// Line is the exact line wanted (state present).
	Line string `json:"line,omitempty" validate:"required_unless=State absent,excludes=\n"`
	// Regexp (Go RE2 syntax) finds the line to replace, or to remove when state is absent.
	Regexp string `json:"regexp,omitempty" validate:"omitempty,regexp"`
	// InsertAfter (Go RE2 syntax): a new line goes after the last line matching it. Absent: at the end.
	InsertAfter string `json:"insertAfter,omitempty" validate:"omitempty,regexp"`
	// State is present (default) or absent.
	State string `json:"state,omitempty" validate:"omitempty,oneof=present absent"`
}

// Default fills in defaults.
func (s *LineInFileSpec) Default(_ *ObjectMeta) {
	if s.State == "" {
		s.State = StatePresent
	}
}

// AuthorizedKeySpec is one public key in a user's ~/.ssh/authorized_keys.
type AuthorizedKeySpec struct {
	Targeting `json:",inline"`
	// User whose authorized_keys file holds the key.
	User string `json:"user" validate:"required,max=32,unixname"`
	// Key is the public key line: "ssh-ed25519 AAAA... comment".
	Key string `json:"key" validate:"required,excludes=\n"`
	// Options are the key options, such as "no-port-forwarding,from=\"10.0.0.0/8\"".
	Options string `json:"options,omitempty" validate:"excludes=\n"`
	// State is present (default) or absent. Other keys in the file are kept.
	State string `json:"state,omitempty" validate:"omitempty,oneof=present absent"`
}

// Default fills in defaults.
func (s *AuthorizedKeySpec) Default(_ *ObjectMeta) {
	if s.State == "" {
		s.State = StatePresent
	}
}

// Check requires a key of the form "TYPE BASE64 [comment]".
func (s *AuthorizedKeySpec) Check() []FieldError {
	f := strings.Fields(s.Key)
	if len(f) < 2 {
		return []FieldError{{Path: "key", Message: `must be a public key line "TYPE BASE64 [comment]", such as "ssh-ed25519 AAAA... alice@laptop"`}}
	}
	if _, err := base64.StdEncoding.DecodeString(f[1]); err != nil {
		return []FieldError{{Path: "key", Message: "the key material (second word) is not valid base64"}}
	}
	return nil
}
