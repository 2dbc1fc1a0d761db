package symlink

import (
	"context"
	"fmt"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Reconciler reconciles Symlink resources.
type Reconciler struct{}

var (
	_ reconcilers.TypedReconciler[v1alpha1.SymlinkSpec]       = Reconciler{}
	_ reconcilers.TypedDependencyLister[v1alpha1.SymlinkSpec] = Reconciler{}
)

// Kind implements reconcilers.Reconciler.
func (Reconciler) Kind() string { return v1alpha1.SymlinkKind.Kind }

// Queries inspects every link of the host in one command.
func (Reconciler) Queries(_ *v1alpha1.Host, objs []reconcilers.Object[v1alpha1.SymlinkSpec]) []reconcilers.Query {
	return reconcilers.QueryPaths(objs, func(s *v1alpha1.SymlinkSpec) reconcilers.PathRequest {
		return reconcilers.PathRequest{Path: s.Path}
	})
}

// Dependencies orders a link after the Directory resources that hold it.
func (Reconciler) Dependencies(obj reconcilers.Object[v1alpha1.SymlinkSpec], all []*v1alpha1.Resource) []v1alpha1.ResourceRef {
	s := obj.Spec
	if s.State == v1alpha1.StateAbsent {
		return nil
	}
	return reconcilers.DirectoryDependencies(s.Path, all)
}

// Plan implements reconcilers.Reconciler.
func (Reconciler) Plan(_ context.Context, req reconcilers.TypedRequest[v1alpha1.SymlinkSpec]) ([]reconcilers.Action, error) {
	s := req.Spec
	cur, err := reconcilers.FindPath(req.Facts, s.Path)
	if err != nil {
		return nil, err
	}
	if s.State == v1alpha1.StateAbsent {
		switch {
		case !cur.Exists:
			return nil, nil
		case cur.Type != reconcilers.TypeSymlink:
			return nil, fmt.Errorf("%s is %s, not a symbolic link: Symlink does not delete it", s.Path, cur.Describe())
		}
		return []reconcilers.Action{{
			Op:          reconcilers.OpDelete,
			Description: "delete symbolic link " + s.Path,
			Changes:     []reconcilers.Change{{Field: "target", Before: cur.Target}},
			Script:      reconcilers.GuardedCommand(s.Path, "rm", "-f", "--", s.Path),
		}}, nil
	}
	link := reconcilers.GuardedCommand(s.Path, "ln", "-s", "--", s.Target, s.Path)
	switch {
	case !cur.Exists:
		return []reconcilers.Action{{
			Op:          reconcilers.OpCreate,
			Description: "create symbolic link " + s.Path + " -> " + s.Target,
			Changes:     []reconcilers.Change{{Field: "target", After: s.Target}},
			Script:      link,
		}}, nil
	case cur.Type == reconcilers.TypeSymlink && cur.Target == s.Target:
		return nil, nil
	case cur.Type == reconcilers.TypeSymlink:
		return []reconcilers.Action{{
			Op:          reconcilers.OpUpdate,
			Description: "point symbolic link " + s.Path + " to " + s.Target,
			Changes:     []reconcilers.Change{{Field: "target", Before: cur.Target, After: s.Target}},
			// -n: replace a link to a directory instead of creating a link inside it.
			Script: reconcilers.GuardedCommand(s.Path, "ln", "-sfn", "--", s.Target, s.Path),
		}}, nil
	case cur.Type == reconcilers.TypeDirectory && !cur.Empty:
		return nil, fmt.Errorf("%s is a directory that is not empty: Symlink never replaces it, remove it first", s.Path)
	case !s.Force:
		return nil, fmt.Errorf("%s is %s: set force: true to replace it with a symbolic link to %s", s.Path, cur.Describe(), s.Target)
	}
	remove := []string{"rm", "-f", "--", s.Path}
	if cur.Type == reconcilers.TypeDirectory {
		remove = []string{"rmdir", "--", s.Path}
	}
	return []reconcilers.Action{{
		Op:          reconcilers.OpUpdate,
		Description: "replace " + cur.Describe() + " at " + s.Path + " with a symbolic link to " + s.Target,
		Changes:     []reconcilers.Change{{Field: "type", Before: string(cur.Type), After: string(reconcilers.TypeSymlink)}, {Field: "target", After: s.Target}},
		Script:      reconcilers.Guard(s.Path, "", reconcilers.ShellCommand(remove...)+" && "+reconcilers.ShellCommand("ln", "-s", "--", s.Target, s.Path)+"\n"),
	}}, nil
}
