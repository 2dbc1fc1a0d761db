package v1alpha1

import (
	"fmt"
	"os"
	"strings"
)

// Resource is one document of a manifest set: the common envelope plus the
// kind's spec (a pointer to HostSpec, UserSpec, ... or a custom kind's spec).
type Resource struct {
	TypeMeta `json:",inline"`
	// Metadata names and labels the resource.
	Metadata ObjectMeta `json:"metadata"`
	// Spec is the desired state.
	Spec any `json:"spec"`
	// Origin is where the document was read from.
	Origin Origin `json:"-"`

	// variants are the resource as written for each host, when its spec
	// reads host variables (${vars.port}); the loader sets them.
	variants map[string]*Resource
}

// For returns the resource as written for the named host: its spec with
// every ${vars.name} replaced by the host's value, checked when the
// manifests were loaded. A resource that reads no variable is the same
// for every host, and For returns it.
func (r *Resource) For(host string) *Resource {
	if v, ok := r.variants[host]; ok {
		return v
	}
	return r
}

// SetVariant records the resource as written for host; the loader calls it.
func (r *Resource) SetVariant(host string, v *Resource) {
	if r.variants == nil {
		r.variants = map[string]*Resource{}
	}
	r.variants[host] = v
}

// Origin locates a document in the manifest files.
type Origin struct {
	// File is the path as given by the user (or "-" for stdin).
	File string
	// Line is the 1-based line of the document's first line.
	Line int
	// Dir is the absolute directory relative paths in the document resolve against.
	Dir string
}

func (o Origin) String() string {
	if o.File == "" {
		return "<generated>"
	}
	return fmt.Sprintf("%s:%d", o.File, o.Line)
}

// Ref returns the resource's kind and name.
func (r *Resource) Ref() ResourceRef { return ResourceRef{Kind: r.Kind, Name: r.Metadata.Name} }

// ID is "Kind/name", the way resources are named in plans and errors.
func (r *Resource) ID() string { return r.Kind + "/" + r.Metadata.Name }

// Targeting returns the hostSelector and dependsOn of the resource, or nil for
// kinds that are not applied to hosts (Host itself).
func (r *Resource) Targeting() *Targeting {
	if t, ok := r.Spec.(Targeted); ok {
		return t.GetTargeting()
	}
	return nil
}

// Host is a Resource of kind Host, with its spec typed.
type Host struct {
	Metadata ObjectMeta
	Spec     *HostSpec
	Origin   Origin
}

// AsHost returns the resource as a Host, or false when it is of another kind.
func (r *Resource) AsHost() (*Host, bool) {
	s, ok := r.Spec.(*HostSpec)
	if !ok {
		return nil, false
	}
	return &Host{Metadata: r.Metadata, Spec: s, Origin: r.Origin}, true
}

// Defaulter is implemented by specs that fill in defaults after decoding.
type Defaulter interface {
	Default(meta *ObjectMeta)
}

// Checker is implemented by specs with rules validator tags cannot express.
// Each problem names the JSON field path below spec ("content", "groups[1]").
type Checker interface {
	Check() []FieldError
}

// SecretChecker is implemented by specs whose secrets have a format: each
// secret source, once read, is checked before any host is touched. path is
// the field's JSON path below spec ("passwordHashFrom"); the value must
// never appear in the error.
type SecretChecker interface {
	CheckSecret(path, value string) error
}

// SchemaProvider is implemented by a field type that decodes itself
// (UnmarshalJSON) and knows its own JSON Schema, which optimus schema
// uses instead of an unconstrained value.
type SchemaProvider interface {
	JSONSchema() map[string]any
}

// FieldError is one problem with one field of a spec.
type FieldError struct {
	// Path below spec, in JSON names: "hostKey.policy", "groups[2]".
	Path string
	// Message says what is wrong and what is allowed.
	Message string
}

// Resolve reads the secret. Relative file paths must already have been made
// absolute by the loader. An empty secret is an error: an empty password
// is never what a manifest means.
func (s *SecretSource) Resolve() (string, error) {
	switch {
	case s == nil:
		return "", nil
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", s.Env)
		}
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty", s.Env)
		}
		return v, nil
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return "", fmt.Errorf("read secret file: %w", err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("secret file %s is empty", s.File)
		}
		return v, nil
	}
	return "", fmt.Errorf("secret source names neither env nor file")
}
