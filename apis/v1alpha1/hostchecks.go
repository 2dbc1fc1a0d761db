package v1alpha1

// HostChecker is implemented by specs that depend on what each targeted
// Host defines (a template reads its vars): loading calls it with every
// Host the resource's selector matches by label, so that what would fail
// on a host fails validate instead. Each problem names the field path
// below spec and the hosts concerned.
type HostChecker interface {
	CheckHosts(hosts []*Host) []FieldError
}
