package reconcilers

import (
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// DirectoryDependencies returns the Directory resources (state present) that
// hold p, nearest first. All ancestors are returned, not only the nearest,
// because the nearest may target other hosts than the resource does.
func DirectoryDependencies(p string, all []*v1alpha1.Resource) []v1alpha1.ResourceRef {
	type dep struct {
		ref v1alpha1.ResourceRef
		len int
	}
	var deps []dep
	for _, o := range all {
		d, ok := o.Spec.(*v1alpha1.DirectorySpec)
		if !ok || d.State == v1alpha1.StateAbsent || d.Path == p {
			continue
		}
		prefix := strings.TrimSuffix(d.Path, "/") + "/"
		if strings.HasPrefix(p, prefix) {
			deps = append(deps, dep{o.Ref(), len(d.Path)})
		}
	}
	// Nearest first: longer paths first, stable otherwise.
	for i := 1; i < len(deps); i++ {
		for j := i; j > 0 && deps[j].len > deps[j-1].len; j-- {
			deps[j], deps[j-1] = deps[j-1], deps[j]
		}
	}
	out := make([]v1alpha1.ResourceRef, len(deps))
	for i, d := range deps {
		out[i] = d.ref
	}
	return out
}

// AccountDependencies returns the User resource named user and the Group
// resource named group (state present), when the manifests have them.
func AccountDependencies(user, group string, all []*v1alpha1.Resource) []v1alpha1.ResourceRef {
	var out []v1alpha1.ResourceRef
	for _, o := range all {
		switch s := o.Spec.(type) {
		case *v1alpha1.UserSpec:
			if user != "" && s.Name == user && s.State != v1alpha1.StateAbsent {
				out = append(out, o.Ref())
			}
		case *v1alpha1.GroupSpec:
			if group != "" && s.Name == group && s.State != v1alpha1.StateAbsent {
				out = append(out, o.Ref())
			}
		}
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
