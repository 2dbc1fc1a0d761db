package reconcilers

import (
	"path"
	"strings"
	"sync"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// depIndex finds Directory, User and Group resources by path and name, so
// that listing a resource's implicit dependencies does not scan every
// resource: over a large manifest set that scan made loading quadratic.
type depIndex struct {
	dirs   map[string][]v1alpha1.ResourceRef // present Directory resources by path
	users  map[string][]v1alpha1.ResourceRef // present User resources by account name
	groups map[string][]v1alpha1.ResourceRef // present Group resources by group name
}

// The loader and the engine ask for the dependencies of every resource of
// one slice in a row, so one index, rebuilt when the slice changes, serves
// them all. The slice is known by its backing array and length (callers do
// not modify a resource slice while asking about it).
var depCache struct {
	sync.Mutex
	first **v1alpha1.Resource
	n     int
	idx   *depIndex
}

func indexOf(all []*v1alpha1.Resource) *depIndex {
	depCache.Lock()
	defer depCache.Unlock()
	if len(all) > 0 && depCache.idx != nil && depCache.first == &all[0] && depCache.n == len(all) {
		return depCache.idx
	}
	x := &depIndex{dirs: map[string][]v1alpha1.ResourceRef{}, users: map[string][]v1alpha1.ResourceRef{}, groups: map[string][]v1alpha1.ResourceRef{}}
	for _, o := range all {
		switch s := o.Spec.(type) {
		case *v1alpha1.DirectorySpec:
			if s.State != v1alpha1.StateAbsent {
				p := strings.TrimSuffix(s.Path, "/")
				x.dirs[p] = append(x.dirs[p], o.Ref())
			}
		case *v1alpha1.UserSpec:
			if s.State != v1alpha1.StateAbsent {
				x.users[s.Name] = append(x.users[s.Name], o.Ref())
			}
		case *v1alpha1.GroupSpec:
			if s.State != v1alpha1.StateAbsent {
				x.groups[s.Name] = append(x.groups[s.Name], o.Ref())
			}
		}
	}
	if len(all) > 0 {
		depCache.first, depCache.n, depCache.idx = &all[0], len(all), x
	}
	return x
}

// DirectoryDependencies returns the Directory resources (state present) that
// hold p, nearest first. All ancestors are returned, not only the nearest,
// because the nearest may target other hosts than the resource does.
func DirectoryDependencies(p string, all []*v1alpha1.Resource) []v1alpha1.ResourceRef {
	x := indexOf(all)
	var out []v1alpha1.ResourceRef
	for dir := path.Dir(p); ; dir = path.Dir(dir) {
		out = append(out, x.dirs[dir]...)
		if dir == "/" || dir == "." {
			return out
		}
	}
}

// AccountDependencies returns the User resources named user and the Group
// resources named group (state present), when the manifests have them.
func AccountDependencies(user, group string, all []*v1alpha1.Resource) []v1alpha1.ResourceRef {
	x := indexOf(all)
	var out []v1alpha1.ResourceRef
	if user != "" {
		out = append(out, x.users[user]...)
	}
	if group != "" {
		out = append(out, x.groups[group]...)
	}
	return out
}

// GroupDependencies returns the Group resources (state present) named by names.
func GroupDependencies(names []string, all []*v1alpha1.Resource) []v1alpha1.ResourceRef {
	x := indexOf(all)
	var out []v1alpha1.ResourceRef
	for _, n := range names {
		out = append(out, x.groups[n]...)
	}
	return out
}

// AbsentContents returns the File, Directory and Symlink resources with
// state absent below directory p: removing a directory comes after removing
// what the manifests say is in it, the reverse of creating them.
func AbsentContents(p string, all []*v1alpha1.Resource) []v1alpha1.ResourceRef {
	prefix := strings.TrimSuffix(p, "/") + "/"
	var out []v1alpha1.ResourceRef
	for _, o := range all {
		var path, state string
		switch s := o.Spec.(type) {
		case *v1alpha1.FileSpec:
			path, state = s.Path, s.State
		case *v1alpha1.DirectorySpec:
			path, state = s.Path, s.State
		case *v1alpha1.SymlinkSpec:
			path, state = s.Path, s.State
		default:
			continue
		}
		if state == v1alpha1.StateAbsent && strings.HasPrefix(path, prefix) {
			out = append(out, o.Ref())
		}
	}
	return out
}
