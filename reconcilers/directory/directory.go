package directory

import (
	"context"
	"fmt"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Reconciler reconciles Directory resources.
type Reconciler struct{}

var (
	_ reconcilers.TypedReconciler[v1alpha1.DirectorySpec]       = Reconciler{}
	_ reconcilers.TypedDependencyLister[v1alpha1.DirectorySpec] = Reconciler{}
)

// Kind implements reconcilers.Reconciler.
func (Reconciler) Kind() string { return v1alpha1.DirectoryKind.Kind }

// Queries inspects every directory of the host in one command.
func (Reconciler) Queries(_ *v1alpha1.Host, objs []reconcilers.Object[v1alpha1.DirectorySpec]) []reconcilers.Query {
	return reconcilers.QueryPaths(objs, func(s *v1alpha1.DirectorySpec) reconcilers.PathRequest {
		return reconcilers.PathRequest{Path: s.Path}
	})
}

// Dependencies orders a directory after the Directory resources that hold it
// and the User and Group resources that own it.
func (Reconciler) Dependencies(obj reconcilers.Object[v1alpha1.DirectorySpec], all []*v1alpha1.Resource) []v1alpha1.ResourceRef {
	s := obj.Spec
	if s.State == v1alpha1.StateAbsent {
		return reconcilers.AbsentContents(s.Path, all)
	}
	return append(reconcilers.DirectoryDependencies(s.Path, all), reconcilers.AccountDependencies(s.Owner, s.Group, all)...)
}

// Plan implements reconcilers.Reconciler.
func (Reconciler) Plan(_ context.Context, req reconcilers.TypedRequest[v1alpha1.DirectorySpec]) ([]reconcilers.Action, error) {
	s := req.Spec
	cur, err := reconcilers.FindPath(req.Facts, s.Path)
	if err != nil {
		return nil, err
	}
	if cur.Exists && cur.Type != reconcilers.TypeDirectory {
		return nil, fmt.Errorf("%s is %s, not a directory: remove it first (Directory does not replace it)", s.Path, cur.Describe())
	}
	if err := cur.CheckOwner(s.Owner); err != nil && s.State != v1alpha1.StateAbsent {
		return nil, err
	}
	if s.State == v1alpha1.StateAbsent {
		switch {
		case !cur.Exists:
			return nil, nil
		case cur.Empty:
			return []reconcilers.Action{{
				Op:          reconcilers.OpDelete,
				Description: "delete directory " + s.Path,
				Changes:     []reconcilers.Change{{Field: "state", Before: "present", After: "absent"}},
				Script:      reconcilers.GuardedCommand(s.Path, "rmdir", "--", s.Path),
			}}, nil
		case !s.Force:
			return nil, fmt.Errorf("directory %s is not empty: set force: true to delete it with everything in it", s.Path)
		}
		return []reconcilers.Action{{
			Op:          reconcilers.OpDelete,
			Description: "delete directory " + s.Path + " and everything in it",
			Changes:     []reconcilers.Change{{Field: "state", Before: "present", After: "absent"}},
			Script:      reconcilers.GuardedCommand(s.Path, "rm", "-rf", "--", s.Path),
		}}, nil
	}
	if !cur.Exists {
		mode := s.Mode
		if mode == "" {
			mode = "0755"
		}
		m, err := reconcilers.ParseMode(mode)
		if err != nil {
			return nil, fmt.Errorf("spec.mode: %w", err)
		}
		mode = reconcilers.OctalMode(m)
		changes := []reconcilers.Change{{Field: "mode", After: mode}}
		if s.Owner != "" {
			changes = append(changes, reconcilers.Change{Field: "owner", After: s.Owner})
		}
		if s.Group != "" {
			changes = append(changes, reconcilers.Change{Field: "group", After: s.Group})
		}
		// Missing parents get the default mode; chmod afterwards because
		// mkdir -m is filtered by the umask for setgid bits.
		script := reconcilers.MkdirScript(s.Path, mode, reconcilers.Ownership(s.Owner, s.Group))
		return []reconcilers.Action{{
			Op:          reconcilers.OpCreate,
			Description: "create directory " + s.Path,
			Changes:     changes,
			Script:      script,
		}}, nil
	}
	changes, chmod, chown, err := reconcilers.AttributeDrift(cur, s.Mode, s.Owner, s.Group)
	if err != nil {
		return nil, fmt.Errorf("spec.mode: %w", err)
	}
	if len(changes) == 0 {
		return nil, nil
	}
	return []reconcilers.Action{{
		Op:          reconcilers.OpUpdate,
		Description: "change " + reconcilers.ChangedFields(changes) + " of directory " + s.Path,
		Changes:     changes,
		Script:      reconcilers.AttributesScript(s.Path, chmod, chown),
	}}, nil
}
