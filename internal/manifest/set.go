package manifest

import "github.com/optimus-cm/optimus/apis/v1alpha1"

// Set is a loaded and validated manifest set.
type Set struct {
	// Resources in load order, Hosts included.
	Resources []*v1alpha1.Resource
	// Policy is the RolloutPolicy, nil without one; it is not among
	// Resources, since it targets no host.
	Policy *v1alpha1.Resource
	// Warnings are problems that do not stop an apply, as "file:line: Kind/name: field: message".
	Warnings []string

	index map[v1alpha1.ResourceRef]*v1alpha1.Resource
	vars  map[string][]VarSource
}

// Vars returns the variables of the named host, sorted by name, each with
// where its value comes from and what it overrides.
func (s *Set) Vars(host string) []VarSource { return s.vars[host] }

// Hosts returns the Host resources in load order.
func (s *Set) Hosts() []*v1alpha1.Host {
	var hosts []*v1alpha1.Host
	for _, r := range s.Resources {
		if h, ok := r.AsHost(); ok {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// Get finds a resource by kind and name, or returns nil.
func (s *Set) Get(ref v1alpha1.ResourceRef) *v1alpha1.Resource {
	if s.index != nil {
		return s.index[ref]
	}
	for _, r := range s.Resources {
		if r.Ref() == ref {
			return r
		}
	}
	return nil
}

// ForHost returns, in load order, the resources other than Hosts whose
// hostSelector matches the host's labels and variables, each as written
// for the host (its ${vars.*} expanded). A resource without a selector
// applies to every host.
func (s *Set) ForHost(h *v1alpha1.Host) []*v1alpha1.Resource {
	var out []*v1alpha1.Resource
	for _, r := range s.Resources {
		if _, isHost := r.AsHost(); isHost {
			continue
		}
		if t := r.Targeting(); t != nil && !t.HostSelector.MatchesHost(h) {
			continue
		}
		out = append(out, r.For(h.Metadata.Name))
	}
	return out
}
