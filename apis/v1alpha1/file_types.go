package v1alpha1

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/optimus-cm/optimus/internal/jinja"
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
	// Template renders content (or source) for each host. "template: true"
	// uses Go text/template, or Jinja2 when source ends in .j2;
	// "template: {engine: jinja2}" chooses the engine. A Go template sees
	// .Host.Name, .Host.Labels, .Vars of the target host and its facts:
	// .Facts.OS.ID, .Facts.OS.VersionID, .Facts.Arch, .Facts.CPUs,
	// .Facts.MemoryMB, .Facts.Hostname, .Facts.Addresses, .Facts.Interfaces
	// (see optimus facts): "worker_processes {{ .Facts.CPUs }};". It has
	// sprig's functions (default, join, upper, semverCompare ">=1.20"
	// .Vars.version, ...) except those that read the operator's machine or
	// change on every call (env, now, rand..., uuidv4). A var the host does
	// not have is an error, read as .Vars.name or index .Vars "name", and
	// optimus validate reports it at this field's line with the template's
	// line and the hosts; an optional var reads
	// {{ get .Vars "name" | default "value" }}. A Jinja2
	// template sees the host's vars as variables, inventory_hostname,
	// group_names and Ansible-style facts (ansible_distribution,
	// ansible_facts.os_family, ...; see docs/migrating-from-ansible.md);
	// validate fails when a targeted host lacks a variable it reads.
	Template FileTemplate `json:"template,omitzero"`
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
	if s.Template.on && s.Template.Engine == "" {
		s.Template.Engine = TemplateGo
		if strings.HasSuffix(s.Source, ".j2") {
			s.Template.Engine = TemplateJinja2
		}
	}
}

// Template engines.
const (
	TemplateGo     = "go"
	TemplateJinja2 = "jinja2"
)

// FileTemplate says whether a File's content is a template and which
// engine renders it. A manifest writes "template: true" or
// "template: {engine: jinja2}".
type FileTemplate struct {
	// Engine is go (Go text/template) or jinja2. Default: jinja2 when
	// source ends in .j2, go otherwise.
	Engine string `json:"engine,omitempty" validate:"omitempty,oneof=go jinja2"`

	on bool
}

// RenderWith returns a FileTemplate rendered by engine (TemplateGo or
// TemplateJinja2; empty chooses by the source's extension).
func RenderWith(engine string) FileTemplate { return FileTemplate{Engine: engine, on: true} }

// On reports whether the content is a template.
func (t FileTemplate) On() bool { return t.on }

// IsZero reports that the content is not a template, so that it is omitted.
func (t FileTemplate) IsZero() bool { return !t.on }

// MarshalJSON writes true, or the engine when one was chosen.
func (t FileTemplate) MarshalJSON() ([]byte, error) {
	switch {
	case !t.on:
		return []byte("false"), nil
	case t.Engine == "":
		return []byte("true"), nil
	}
	return json.Marshal(map[string]string{"engine": t.Engine})
}

var _ SchemaProvider = (*FileTemplate)(nil)

// JSONSchema accepts what UnmarshalJSON reads.
func (*FileTemplate) JSONSchema() map[string]any {
	return map[string]any{"oneOf": []any{
		map[string]any{"type": "boolean"},
		map[string]any{"type": "object", "additionalProperties": false,
			"properties": map[string]any{"engine": map[string]any{"enum": []any{TemplateGo, TemplateJinja2}}}},
	}}
}

// UnmarshalJSON reads true, false or {engine: go|jinja2}.
func (t *FileTemplate) UnmarshalJSON(b []byte) error {
	var on bool
	if err := json.Unmarshal(b, &on); err == nil {
		*t = FileTemplate{on: on}
		return nil
	}
	var obj struct {
		Engine string `json:"engine"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&obj); err != nil {
		return fmt.Errorf("must be true, false or {engine: go|jinja2}")
	}
	*t = FileTemplate{Engine: obj.Engine, on: true}
	return nil
}

// Check requires %s in validate, where the temporary file's path goes, and
// parses a Jinja2 template, so that a filter or test it does not know is
// found before any host is touched.
func (s *FileSpec) Check() []FieldError {
	var errs []FieldError
	if s.Validate != "" && !strings.Contains(s.Validate, "%s") {
		errs = append(errs, FieldError{Path: "validate", Message: `must contain %s where the new content's temporary path goes, such as "nginx -t -c %s"`})
	}
	if s.Template.On() && s.Template.Engine == TemplateJinja2 {
		errs = append(errs, s.checkJinja()...)
	}
	return errs
}

// checkJinja parses the template. The loader has made source absolute by
// then; a source it cannot read is reported by the loader itself.
func (s *FileSpec) checkJinja() []FieldError {
	field, where, src, ok := s.jinjaSource()
	if !ok {
		return nil
	}
	_, err := jinja.Parse(src)
	if err == nil {
		return nil
	}
	var errs []FieldError
	for _, e := range unjoin(err) {
		msg := e.Error()
		var je *jinja.Error
		if errors.As(e, &je) && je.Line > 0 {
			if where == "line" {
				msg = fmt.Sprintf("Jinja2 template, line %d: %s", je.Line, je.Msg)
			} else {
				msg = fmt.Sprintf("Jinja2 template %s:%d: %s", where, je.Line, je.Msg)
			}
		} else {
			msg = "Jinja2 template: " + msg
		}
		errs = append(errs, FieldError{Path: field, Message: msg})
	}
	return errs
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
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
