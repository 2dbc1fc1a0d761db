package controller

import (
	"fmt"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/depgraph"
	"github.com/optimus-cm/optimus/reconcilers"
)

// order sorts the resources of one host so that every resource comes after
// what it depends on, keeping manifest order otherwise. It also returns, per
// resource, every resource on the host it depends on, directly or not, which
// is what a failure must skip.
func order(reg *reconcilers.Registry, onHost, all []*v1alpha1.Resource) ([]*v1alpha1.Resource, map[v1alpha1.ResourceRef][]v1alpha1.ResourceRef, error) {
	index := make(map[v1alpha1.ResourceRef]int, len(onHost))
	for i, r := range onHost {
		index[r.Ref()] = i
	}
	g := make(depgraph.Graph, len(onHost))
	for i, r := range onHost {
		for _, d := range reg.Dependencies(r, all) {
			if j, ok := index[d]; ok {
				g[i] = append(g[i], j)
			}
		}
	}
	vertices, ok := g.Order()
	if !ok {
		// Loading rejects cycles with file:line; this is for resources
		// handed to the engine some other way.
		cycle := g.Cycles()[0]
		names := make([]string, 0, len(cycle)+1)
		for _, v := range cycle {
			names = append(names, onHost[v].ID())
		}
		names = append(names, onHost[cycle[0]].ID())
		return nil, nil, fmt.Errorf("dependency cycle: %s", strings.Join(names, " -> "))
	}
	sorted := make([]*v1alpha1.Resource, len(vertices))
	for i, v := range vertices {
		sorted[i] = onHost[v]
	}
	// Every list is cut from one backing array (capped, so that appending
	// to one cannot overwrite the next): this runs per host on every
	// observe.
	closure := make(map[v1alpha1.ResourceRef][]v1alpha1.ResourceRef, len(onHost))
	var refs []v1alpha1.ResourceRef
	for i, r := range onHost {
		start := len(refs)
		g.Walk(i, func(j int) { refs = append(refs, onHost[j].Ref()) })
		if len(refs) > start {
			closure[r.Ref()] = refs[start:len(refs):len(refs)]
		}
	}
	return sorted, closure, nil
}
