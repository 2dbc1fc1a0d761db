package reconcilers

import (
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// TestQueryPathsOnlyListsPaths: a kind's path query carries its requests
// and no script of its own, which the engine would throw away when it
// merges the requests of every kind into one command.
func TestQueryPathsOnlyListsPaths(t *testing.T) {
	objs := []Object[v1alpha1.DirectorySpec]{{Spec: &v1alpha1.DirectorySpec{Path: "/a"}}, {Spec: &v1alpha1.DirectorySpec{Path: "/b"}}}
	qs := QueryPaths(objs, func(s *v1alpha1.DirectorySpec) PathRequest { return PathRequest{Path: s.Path} })
	if len(qs) != 1 || qs[0].Script != "" || qs[0].Key != "" || len(qs[0].Paths) != 2 || qs[0].Paths[1].Path != "/b" {
		t.Fatalf("QueryPaths = %+v, want one query listing /a and /b, without a script", qs)
	}
}
