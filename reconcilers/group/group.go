package group

import (
	"context"
	"strconv"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Reconciler reconciles Group resources.
type Reconciler struct{}

var (
	_ reconcilers.TypedReconciler[v1alpha1.GroupSpec]       = Reconciler{}
	_ reconcilers.TypedDependencyLister[v1alpha1.GroupSpec] = Reconciler{}
	_ reconcilers.SharedQuerier                             = Reconciler{}
)

// Dependencies orders removing a group after removing the users that have
// it as their primary group, which groupdel would refuse.
func (Reconciler) Dependencies(obj reconcilers.Object[v1alpha1.GroupSpec], all []*v1alpha1.Resource) []v1alpha1.ResourceRef {
	s := obj.Spec
	if s.State != v1alpha1.StateAbsent {
		return nil
	}
	var deps []v1alpha1.ResourceRef
	for _, o := range all {
		if u, ok := reconcilers.SpecOf[v1alpha1.UserSpec](o); ok && u.State == v1alpha1.StateAbsent && (u.Group == s.Name || u.Name == s.Name) {
			deps = append(deps, o.Ref())
		}
	}
	return deps
}

// SharedQueries implements reconcilers.SharedQuerier: the group database is
// read once per host for User and Group.
func (Reconciler) SharedQueries() []reconcilers.Query {
	return []reconcilers.Query{reconcilers.QueryGroup}
}

// Kind implements reconcilers.Reconciler.
func (Reconciler) Kind() string { return v1alpha1.GroupKind.Kind }

// Queries reads the group database once for all groups (and users) of the host.
func (Reconciler) Queries(*v1alpha1.Host, []reconcilers.Object[v1alpha1.GroupSpec]) []reconcilers.Query {
	return []reconcilers.Query{reconcilers.QueryGroup}
}

// Plan implements reconcilers.Reconciler.
func (Reconciler) Plan(_ context.Context, req reconcilers.TypedRequest[v1alpha1.GroupSpec]) ([]reconcilers.Action, error) {
	s := req.Spec
	groups, err := reconcilers.Groups(req.Facts)
	if err != nil {
		return nil, err
	}
	cur, exists := groups[s.Name]
	switch {
	case s.State == v1alpha1.StateAbsent && exists:
		return []reconcilers.Action{{
			Op:          reconcilers.OpDelete,
			Description: "delete group " + s.Name,
			Changes:     []reconcilers.Change{{Field: "state", Before: "present", After: "absent"}},
			Script:      reconcilers.ShellCommand("groupdel", s.Name),
		}}, nil
	case s.State == v1alpha1.StateAbsent:
		return nil, nil
	case !exists:
		args := []string{"groupadd"}
		var changes []reconcilers.Change
		if s.GID != nil {
			args = append(args, "-g", strconv.Itoa(*s.GID))
			changes = append(changes, reconcilers.Change{Field: "gid", After: strconv.Itoa(*s.GID)})
		}
		if s.System {
			args = append(args, "-r")
		}
		return []reconcilers.Action{{
			Op:          reconcilers.OpCreate,
			Description: "create group " + s.Name,
			Changes:     changes,
			Script:      reconcilers.ShellCommand(append(args, s.Name)...),
		}}, nil
	case s.GID != nil && *s.GID != cur.GID:
		return []reconcilers.Action{{
			Op:          reconcilers.OpUpdate,
			Description: "change gid of group " + s.Name,
			Changes:     []reconcilers.Change{{Field: "gid", Before: strconv.Itoa(cur.GID), After: strconv.Itoa(*s.GID)}},
			Script:      reconcilers.ShellCommand("groupmod", "-g", strconv.Itoa(*s.GID), s.Name),
		}}, nil
	}
	return nil, nil
}
