package engine

import (
	"fmt"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
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
	direct := make([][]int, len(onHost))
	for i, r := range onHost {
		for _, d := range reg.Dependencies(r, all) {
			if j, ok := index[d]; ok {
				direct[i] = append(direct[i], j)
			}
		}
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := make([]int, len(onHost))
	var sorted []*v1alpha1.Resource
	var stack []int
	var visit func(i int) error
	visit = func(i int) error {
		switch state[i] {
		case done:
			return nil
		case visiting:
			var names []string
			start := 0
			for k, s := range stack {
				if s == i {
					start = k
				}
			}
			for _, s := range stack[start:] {
				names = append(names, onHost[s].ID())
			}
			return fmt.Errorf("dependency cycle: %s -> %s", strings.Join(names, " -> "), onHost[i].ID())
		}
		state[i] = visiting
		stack = append(stack, i)
		for _, j := range direct[i] {
			if err := visit(j); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
		sorted = append(sorted, onHost[i])
		return nil
	}
	for i := range onHost {
		if err := visit(i); err != nil {
			return nil, nil, err
		}
	}
	closure := map[v1alpha1.ResourceRef][]v1alpha1.ResourceRef{}
	for i, r := range onHost {
		seen := map[int]bool{}
		var walk func(int)
		walk = func(k int) {
			for _, j := range direct[k] {
				if !seen[j] {
					seen[j] = true
					closure[r.Ref()] = append(closure[r.Ref()], onHost[j].Ref())
					walk(j)
				}
			}
		}
		walk(i)
	}
	return sorted, closure, nil
}
