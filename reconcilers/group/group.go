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
	_ reconcilers.Reconciler       = Reconciler{}
	_ reconcilers.DependencyLister = Reconciler{}
)

// Dependencies orders removing a group after removing the users that have
// it as their primary group, which groupdel would refuse.
func (Reconciler) Dependencies(res *v1alpha1.Resource, all []*v1alpha1.Resource) []v1alpha1.ResourceRef {
	s := res.Spec.(*v1alpha1.GroupSpec)
	if s.State != v1alpha1.StateAbsent {
		return nil
	}
	var deps []v1alpha1.ResourceRef
	for _, o := range all {
		if u, ok := o.Spec.(*v1alpha1.UserSpec); ok && u.State == v1alpha1.StateAbsent && (u.Group == s.Name || u.Name == s.Name) {
			deps = append(deps, o.Ref())
		}
	}
	return deps
}

// Kind implements reconcilers.Reconciler.
func (Reconciler) Kind() string { return v1alpha1.GroupKind.Kind }

// Queries reads the group database once for all groups (and users) of the host.
func (Reconciler) Queries(*v1alpha1.Host, []*v1alpha1.Resource) []reconcilers.Query {
	return []reconcilers.Query{reconcilers.QueryGroup}
}

// Plan implements reconcilers.Reconciler.
func (Reconciler) Plan(_ context.Context, req reconcilers.Request) ([]reconcilers.Action, error) {
	s := req.Resource.Spec.(*v1alpha1.GroupSpec)
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
