package controller

import "github.com/optimus-cm/optimus/apis/v1alpha1"

// ResourcesByHost returns, for each host, the resources other than Hosts
// whose selectors match it, in manifest order. It indexes the selectors
// once, so a fleet costs about its hosts' resources rather than hosts ×
// resources; a long-running process computes it once per manifest load and
// passes each host only its own resources.
func ResourcesByHost(hosts []*v1alpha1.Host, resources []*v1alpha1.Resource) [][]*v1alpha1.Resource {
	var managed []*v1alpha1.Resource
	for _, r := range resources {
		if r.Kind != v1alpha1.HostKind.Kind {
			managed = append(managed, r)
		}
	}
	x := indexTargets(managed)
	out := make([][]*v1alpha1.Resource, len(hosts))
	for i, h := range hosts {
		out[i] = x.forHost(h)
	}
	return out
}
