package v1alpha1

// Rules that validator tags cannot express, found by the manifest loader
// through the Checker interface.

var _ Checker = &SecretSource{}

// Check requires exactly one of env and file.
func (s *SecretSource) Check() []FieldError {
	switch {
	case s.Env == "" && s.File == "":
		return []FieldError{{Message: "set one of env and file"}}
	case s.Env != "" && s.File != "":
		return []FieldError{{Message: "set only one of env and file, not both"}}
	}
	return nil
}
