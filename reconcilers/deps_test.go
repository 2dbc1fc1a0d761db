package reconcilers_test

import (
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

func res(kind, name string, spec any) *v1alpha1.Resource {
	return &v1alpha1.Resource{TypeMeta: v1alpha1.TypeMeta{Kind: kind}, Metadata: v1alpha1.ObjectMeta{Name: name}, Spec: spec}
}

func TestAbsentContentsReverseCreationOrder(t *testing.T) {
	all := []*v1alpha1.Resource{
		res("Directory", "app", &v1alpha1.DirectorySpec{Path: "/srv/app", State: "absent"}),
		res("File", "conf", &v1alpha1.FileSpec{Path: "/srv/app/conf", State: "absent"}),
		res("File", "kept", &v1alpha1.FileSpec{Path: "/srv/app/kept", State: "present"}),
		res("Symlink", "other", &v1alpha1.SymlinkSpec{Path: "/srv/application", State: "absent"}),
	}
	got := reconcilers.AbsentContents("/srv/app", all)
	if len(got) != 1 || got[0].String() != "File/conf" {
		t.Errorf("AbsentContents = %v, want [File/conf]", got)
	}
}

// TestDependencyIndexFollowsTheSlice: two slices with the same first
// resource and length but other members must not share an index.
func TestDependencyIndexFollowsTheSlice(t *testing.T) {
	first := res("User", "alice", &v1alpha1.UserSpec{Name: "alice"})
	a := []*v1alpha1.Resource{first, res("Directory", "a", &v1alpha1.DirectorySpec{Path: "/srv/a"})}
	b := []*v1alpha1.Resource{first, res("Directory", "b", &v1alpha1.DirectorySpec{Path: "/srv/b"})}
	if got := reconcilers.DirectoryDependencies("/srv/a/f", a); len(got) != 1 || got[0].Name != "a" {
		t.Errorf("in a: %v", got)
	}
	if got := reconcilers.DirectoryDependencies("/srv/a/f", b); len(got) != 0 {
		t.Errorf("in b: %v, want none", got)
	}
	if got := reconcilers.DirectoryDependencies("/srv/b/f", b); len(got) != 1 || got[0].Name != "b" {
		t.Errorf("in b: %v", got)
	}
}
