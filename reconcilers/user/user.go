package user

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Reconciler reconciles User resources.
type Reconciler struct{}

var (
	_ reconcilers.TypedReconciler[v1alpha1.UserSpec]       = Reconciler{}
	_ reconcilers.TypedDependencyLister[v1alpha1.UserSpec] = Reconciler{}
	_ reconcilers.SharedQuerier                            = Reconciler{}
)

// Kind implements reconcilers.Reconciler.
func (Reconciler) Kind() string { return v1alpha1.UserKind.Kind }

// Queries reads passwd and group once for all users of the host, and shadow
// only when some user manages its password.
func (Reconciler) Queries(_ *v1alpha1.Host, objs []reconcilers.Object[v1alpha1.UserSpec]) []reconcilers.Query {
	qs := []reconcilers.Query{reconcilers.QueryPasswd, reconcilers.QueryGroup}
	for _, o := range objs {
		if o.Spec.PasswordHashFrom != nil {
			return append(qs, reconcilers.QueryShadow)
		}
	}
	return qs
}

// SharedQueries implements reconcilers.SharedQuerier: the account
// databases are read once per host for User and Group.
func (Reconciler) SharedQueries() []reconcilers.Query {
	return []reconcilers.Query{reconcilers.QueryPasswd, reconcilers.QueryGroup, reconcilers.QueryShadow}
}

// Dependencies orders a user after the Group resources it names.
func (Reconciler) Dependencies(obj reconcilers.Object[v1alpha1.UserSpec], all []*v1alpha1.Resource) []v1alpha1.ResourceRef {
	s := obj.Spec
	if s.State == v1alpha1.StateAbsent {
		return nil
	}
	return reconcilers.GroupDependencies(append([]string{s.Group}, s.Groups...), all)
}

// Plan implements reconcilers.Reconciler.
func (Reconciler) Plan(_ context.Context, req reconcilers.TypedRequest[v1alpha1.UserSpec]) ([]reconcilers.Action, error) {
	s := req.Spec
	users, err := reconcilers.Passwd(req.Facts)
	if err != nil {
		return nil, err
	}
	groups, err := reconcilers.Groups(req.Facts)
	if err != nil {
		return nil, err
	}
	cur, exists := users[s.Name]

	if s.State == v1alpha1.StateAbsent {
		if !exists {
			return nil, nil
		}
		args := []string{"userdel"}
		if s.RemoveHome {
			args = append(args, "-r")
		}
		return []reconcilers.Action{{
			Op:          reconcilers.OpDelete,
			Description: "delete user " + s.Name + when(s.RemoveHome, " and its home directory"),
			Changes:     []reconcilers.Change{{Field: "state", Before: "present", After: "absent"}},
			Script:      reconcilers.ShellCommand(append(args, s.Name)...),
		}}, nil
	}

	hash, err := s.PasswordHashFrom.Resolve()
	if err != nil {
		return nil, fmt.Errorf("spec.passwordHashFrom: %w", err)
	}
	if s.PasswordHashFrom != nil {
		if err := v1alpha1.CheckPasswordHash(hash); err != nil {
			return nil, fmt.Errorf("spec.passwordHashFrom: the secret %w", err)
		}
	}
	var actions []reconcilers.Action
	if !exists {
		actions = append(actions, create(s))
	} else if a, ok := modify(s, cur, groups); ok {
		actions = append(actions, a)
	}
	if s.PasswordHashFrom != nil {
		current := ""
		if exists {
			shadow, err := reconcilers.Shadow(req.Facts)
			if err != nil {
				return nil, err
			}
			current = shadow[s.Name]
		}
		if current != hash {
			actions = append(actions, reconcilers.Action{
				Op:          reconcilers.OpUpdate,
				Description: "set password of user " + s.Name,
				Changes:     []reconcilers.Change{{Field: "password", Before: reconcilers.Redacted, After: reconcilers.Redacted}},
				Script:      "chpasswd -e",
				Stdin:       []byte(s.Name + ":" + hash + "\n"),
				Secrets:     []string{hash},
			})
		}
	}
	return actions, nil
}

func create(s *v1alpha1.UserSpec) reconcilers.Action {
	args := []string{"useradd"}
	var changes []reconcilers.Change
	set := func(field, flag, value string) {
		args = append(args, flag, value)
		changes = append(changes, reconcilers.Change{Field: field, After: value})
	}
	if s.UID != nil {
		set("uid", "-u", strconv.Itoa(*s.UID))
	}
	if s.Group != "" {
		set("group", "-g", s.Group)
	}
	if len(s.Groups) > 0 {
		set("groups", "-G", strings.Join(s.Groups, ","))
	}
	if s.Shell != "" {
		set("shell", "-s", s.Shell)
	}
	if s.Home != "" {
		set("home", "-d", s.Home)
	}
	if s.Comment != "" {
		set("comment", "-c", s.Comment)
	}
	if s.System {
		args = append(args, "-r")
	}
	if *s.CreateHome {
		args = append(args, "-m")
	} else {
		args = append(args, "-M")
	}
	return reconcilers.Action{
		Op:          reconcilers.OpCreate,
		Description: "create user " + s.Name,
		Changes:     changes,
		Script:      reconcilers.ShellCommand(append(args, s.Name)...),
	}
}

func modify(s *v1alpha1.UserSpec, cur reconcilers.PasswdEntry, groups map[string]reconcilers.GroupEntry) (reconcilers.Action, bool) {
	args := []string{"usermod"}
	var changes []reconcilers.Change
	set := func(field, flag, before, after string) {
		args = append(args, flag, after)
		changes = append(changes, reconcilers.Change{Field: field, Before: before, After: after})
	}
	if s.UID != nil && *s.UID != cur.UID {
		set("uid", "-u", strconv.Itoa(cur.UID), strconv.Itoa(*s.UID))
	}
	if s.Group != "" {
		curGroup := strconv.Itoa(cur.GID)
		for _, g := range groups {
			if g.GID == cur.GID {
				curGroup = g.Name
				break
			}
		}
		if curGroup != s.Group {
			set("group", "-g", curGroup, s.Group)
		}
	}
	var member []string
	for _, g := range groups {
		if slices.Contains(g.Members, s.Name) {
			member = append(member, g.Name)
		}
	}
	sort.Strings(member)
	if s.Append {
		var missing []string
		for _, g := range s.Groups {
			if !slices.Contains(member, g) {
				missing = append(missing, g)
			}
		}
		if len(missing) > 0 {
			args = append(args, "-a", "-G", strings.Join(missing, ","))
			changes = append(changes, reconcilers.Change{Field: "groups", Before: strings.Join(member, ","),
				After: strings.Join(append(slices.Clone(member), missing...), ",")})
		}
	} else if s.Groups != nil {
		// An omitted groups field leaves the supplementary groups alone
		// (managing an existing admin must not drop it from sudo); only a
		// listed one, "groups: []" included, is enforced.
		want := slices.Clone(s.Groups)
		sort.Strings(want)
		want = slices.Compact(want)
		if !slices.Equal(want, member) {
			set("groups", "-G", strings.Join(member, ","), strings.Join(want, ","))
		}
	}
	if s.Shell != "" && s.Shell != cur.Shell {
		set("shell", "-s", cur.Shell, s.Shell)
	}
	if s.Home != "" && s.Home != cur.Home {
		set("home", "-d", cur.Home, s.Home)
	}
	if s.Comment != "" && s.Comment != cur.Comment {
		set("comment", "-c", cur.Comment, s.Comment)
	}
	if len(changes) == 0 {
		return reconcilers.Action{}, false
	}
	fields := make([]string, len(changes))
	for i, c := range changes {
		fields[i] = c.Field
	}
	return reconcilers.Action{
		Op:          reconcilers.OpUpdate,
		Description: "change " + strings.Join(fields, ", ") + " of user " + s.Name,
		Changes:     changes,
		Script:      reconcilers.ShellCommand(append(args, s.Name)...),
	}, true
}

func when(b bool, s string) string {
	if b {
		return s
	}
	return ""
}
