package v1alpha1

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
)

// TransportSchemas maps each transport a tool knows to a constructor of a
// pointer to its zero settings struct, nil for a transport that takes no
// settings. A Host is checked against the transports of its tool.
type TransportSchemas map[string]func() any

// BuiltinTransports are the transports every tool has.
func BuiltinTransports() TransportSchemas {
	return TransportSchemas{"ssh": nil, "local": nil, "docker": nil}
}

// NewHostKind returns the Host kind of a tool whose transports are ts, so
// that loading checks a Host's transport name and settings against them.
func NewHostKind(ts TransportSchemas) KindType {
	k := HostKind
	k.NewSpec = func() any { return &HostSpec{transports: ts} }
	return k
}

var _ Checker = &HostSpec{}

// Check checks the transport name, its settings and that a jump goes with ssh.
func (s *HostSpec) Check() []FieldError {
	ts := s.transports
	if ts == nil {
		ts = BuiltinTransports()
	}
	name := s.Transport
	if name == "" {
		name = "ssh"
	}
	newSettings, known := ts[name]
	if !known {
		return []FieldError{{Path: "transport", Message: fmt.Sprintf("unknown transport %q: use one of %s",
			name, strings.Join(slices.Sorted(maps.Keys(ts)), ", "))}}
	}
	var errs []FieldError
	if s.Jump != nil && name != "ssh" {
		errs = append(errs, FieldError{Path: "jump", Message: "a jump needs transport ssh, not " + name})
	}
	switch {
	case newSettings == nil && len(s.Settings) > 0:
		errs = append(errs, FieldError{Path: "settings", Message: "transport " + name + " takes no settings"})
	case newSettings != nil:
		errs = append(errs, checkSettings(s, newSettings())...)
	}
	return errs
}

// DecodeSettings decodes the host's settings into into, a pointer to a
// transport's settings struct; an unknown field is an error.
func (s *HostSpec) DecodeSettings(into any) error {
	b, err := json.Marshal(s.Settings)
	if err != nil {
		return err
	}
	if len(s.Settings) == 0 {
		b = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}

var settingsValidator = sync.OnceValue(NewValidator)

// checkSettings decodes and validates settings as a kind's spec is:
// validator tags, then the Checker interface.
func checkSettings(s *HostSpec, into any) []FieldError {
	if err := s.DecodeSettings(into); err != nil {
		return []FieldError{{Path: "settings", Message: strings.TrimPrefix(err.Error(), "json: ")}}
	}
	var errs []FieldError
	if err := settingsValidator().Struct(into); err != nil {
		var verrs validator.ValidationErrors
		if !errors.As(err, &verrs) {
			return []FieldError{{Path: "settings", Message: err.Error()}}
		}
		for _, fe := range verrs {
			_, path, _ := strings.Cut(fe.Namespace(), ".")
			msg := "fails the rule " + fe.Tag()
			if fe.Param() != "" {
				msg += "=" + fe.Param()
			}
			if fe.Tag() == "required" {
				msg = "is required"
			}
			errs = append(errs, FieldError{Path: "settings." + path, Message: msg})
		}
	}
	if c, ok := into.(Checker); ok {
		for _, fe := range c.Check() {
			p := "settings"
			if fe.Path != "" {
				p += "." + fe.Path
			}
			errs = append(errs, FieldError{Path: p, Message: fe.Message})
		}
	}
	return errs
}
