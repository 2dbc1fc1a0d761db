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
	index := map[v1alpha1.ResourceRef]int{}
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
	closure := map[v1alpha1.ResourceRef][]v1alpha1.ResourceRef{}
	for i, r := range onHost {
		ref := r.Ref()
		g.Walk(i, func(j int) { closure[ref] = append(closure[ref], onHost[j].Ref()) })
	}
	return sorted, closure, nil
}
