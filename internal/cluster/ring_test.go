package cluster

import (
	"fmt"
	"testing"
)

func hostNames(n int) []string {
	var hs []string
	for i := range n {
		hs = append(hs, fmt.Sprintf("host-%04d", i))
	}
	return hs
}

func loads(a map[string]string) map[string]int {
	l := map[string]int{}
	for _, r := range a {
		l[r]++
	}
	return l
}

func moved(a, b map[string]string) int {
	n := 0
	for h, r := range a {
		if b[h] != r {
			n++
		}
	}
	return n
}

func TestAssignEveryHostOnceWithinBound(t *testing.T) {
	for _, tc := range []struct{ hosts, replicas int }{{30, 3}, {1000, 3}, {1000, 7}, {5, 8}, {10000, 10}} {
		var reps []string
		for i := range tc.replicas {
			reps = append(reps, fmt.Sprintf("r%d", i))
		}
		a := Assign(hostNames(tc.hosts), reps, 0, 0)
		if len(a) != tc.hosts {
			t.Fatalf("%+v: %d hosts assigned", tc, len(a))
		}
		bound := LoadBound(tc.hosts, tc.replicas, DefaultLoadFactor)
		for r, n := range loads(a) {
			if n > bound {
				t.Errorf("%+v: %s holds %d > bound %d", tc, r, n, bound)
			}
		}
	}
}

func TestAssignIsDeterministic(t *testing.T) {
	hs := hostNames(200)
	a := Assign(hs, []string{"a", "b", "c"}, 0, 0)
	rev := append([]string(nil), hs...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	if b := Assign(rev, []string{"c", "a", "b"}, 0, 0); moved(a, b) != 0 {
		t.Fatalf("argument order changed %d assignments", moved(a, b))
	}
}

// Adding or removing one replica moves about the share it gains or loses:
// the hosts it must, plus a small cascade from the load bound.
func TestAssignMovesOnlyWhatItMust(t *testing.T) {
	hs := hostNames(3000)
	three := Assign(hs, []string{"a", "b", "c"}, 0, 0)
	four := Assign(hs, []string{"a", "b", "c", "d"}, 0, 0)
	two := Assign(hs, []string{"a", "b"}, 0, 0)

	gained := loads(four)["d"]
	mv := moved(three, four)
	t.Logf("add d: d gained %d, %d of %d hosts moved", gained, mv, len(hs))
	if mv > gained*3/2 {
		t.Errorf("adding a replica moved %d hosts; it took only %d", mv, gained)
	}
	for h, r := range four {
		if r != "d" && three[h] != r && three[h] == "d" {
			t.Fatalf("host %s moved between old replicas", h)
		}
	}
	lost := loads(three)["c"]
	mv = moved(three, two)
	t.Logf("remove c: c held %d, %d of %d hosts moved", lost, mv, len(hs))
	if mv > lost*3/2 {
		t.Errorf("removing a replica moved %d hosts; it held only %d", mv, lost)
	}
	for _, n := range loads(two) {
		if n > LoadBound(len(hs), 2, DefaultLoadFactor) {
			t.Errorf("load %d over bound", n)
		}
	}
}
