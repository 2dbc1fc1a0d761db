package depgraph

// Graph is a dependency graph over the vertices 0..len-1: g[v] lists the
// vertices v depends on.
type Graph [][]int

// Order returns every vertex after the vertices it depends on, keeping the
// vertices' own order otherwise (depth first, dependencies first). ok is
// false when the graph has a cycle; Cycles names it.
func (g Graph) Order() (order []int, ok bool) {
	const (
		unvisited = iota
		visiting
		done
	)
	state := make([]int, len(g))
	order = make([]int, 0, len(g))
	var visit func(v int) bool
	visit = func(v int) bool {
		switch state[v] {
		case done:
			return true
		case visiting:
			return false
		}
		state[v] = visiting
		for _, w := range g[v] {
			if !visit(w) {
				return false
			}
		}
		state[v] = done
		order = append(order, v)
		return true
	}
	for v := range g {
		if !visit(v) {
			return nil, false
		}
	}
	return order, true
}

// Walk calls fn once for every vertex v depends on, directly or not, depth
// first.
func (g Graph) Walk(v int, fn func(w int)) {
	seen := map[int]bool{}
	var walk func(int)
	walk = func(u int) {
		for _, w := range g[u] {
			if !seen[w] {
				seen[w] = true
				fn(w)
				walk(w)
			}
		}
	}
	walk(v)
}

// Cycles returns one cycle for each group of vertices that depend on each
// other (a strongly connected component with more than one vertex, or a
// vertex that depends on itself): the shortest path from the group's
// first vertex back to it, starting with that vertex.
func (g Graph) Cycles() [][]int {
	var out [][]int
	for _, comp := range g.components() {
		start := comp[0]
		for _, v := range comp {
			start = min(start, v)
		}
		in := map[int]bool{}
		for _, v := range comp {
			in[v] = true
		}
		if c := g.shortestCycle(start, in); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// components returns the strongly connected components (Tarjan) that hold
// a cycle.
func (g Graph) components() [][]int {
	n := len(g)
	index, low := make([]int, n), make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	var comps [][]int
	next := 0
	var visit func(v int)
	visit = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range g[v] {
			if index[w] < 0 {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] != index[v] {
			return
		}
		var comp []int
		for {
			w := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[w] = false
			comp = append(comp, w)
			if w == v {
				break
			}
		}
		selfLoop := false
		for _, w := range g[v] {
			selfLoop = selfLoop || w == v
		}
		if len(comp) > 1 || selfLoop {
			comps = append(comps, comp)
		}
	}
	for v := range n {
		if index[v] < 0 {
			visit(v)
		}
	}
	return comps
}

// shortestCycle returns a path start -> ... whose last vertex depends on
// start, staying among in (breadth first, so the cycle is short).
func (g Graph) shortestCycle(start int, in map[int]bool) []int {
	prev := map[int]int{start: -1}
	queue := []int{start}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, w := range g[v] {
			if w == start {
				var path []int
				for u := v; u != -1; u = prev[u] {
					path = append([]int{u}, path...)
				}
				return path
			}
			if _, ok := prev[w]; !ok && in[w] {
				prev[w] = v
				queue = append(queue, w)
			}
		}
	}
	return nil
}
