package depgraph

import (
	"reflect"
	"testing"
)

func TestOrderPutsDependenciesFirstAndKeepsOrderOtherwise(t *testing.T) {
	// 0 depends on 2, 2 on 3; 1 depends on nothing.
	g := Graph{{2}, {}, {3}, {}}
	order, ok := g.Order()
	if !ok || !reflect.DeepEqual(order, []int{3, 2, 0, 1}) {
		t.Fatalf("Order = %v, %v; want [3 2 0 1]", order, ok)
	}
	var got []int
	g.Walk(0, func(w int) { got = append(got, w) })
	if !reflect.DeepEqual(got, []int{2, 3}) {
		t.Errorf("Walk(0) visited %v, want [2 3]", got)
	}
	if c := g.Cycles(); c != nil {
		t.Errorf("Cycles of an acyclic graph = %v", c)
	}
}

func TestCyclesNameEachGroupOnceShortestFromItsFirstVertex(t *testing.T) {
	for _, tc := range []struct {
		name string
		g    Graph
		want [][]int
	}{
		{"two", Graph{{1}, {0}}, [][]int{{0, 1}}},
		{"self", Graph{{0}, {}}, [][]int{{0}}},
		// 1 -> 2 -> 3 -> 1 and 1 -> 3: the short way round.
		{"shortest", Graph{{}, {2, 3}, {3}, {1}}, [][]int{{1, 3}}},
		{"apart", Graph{{1}, {0}, {3}, {2}}, [][]int{{0, 1}, {2, 3}}},
	} {
		if _, ok := tc.g.Order(); ok {
			t.Errorf("%s: Order found no cycle", tc.name)
		}
		if got := tc.g.Cycles(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Cycles = %v, want %v", tc.name, got, tc.want)
		}
	}
}
