package lineinfile

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/textedit"
	"github.com/optimus-cm/optimus/reconcilers"
)

// ContentLimit is the largest file LineInFile edits: its content is read in
// the observe phase to match the regular expressions.
const ContentLimit = textedit.ContentLimit

// Reconciler reconciles LineInFile resources.
type Reconciler struct{}

var (
	_ reconcilers.TypedReconciler[v1alpha1.LineInFileSpec]       = Reconciler{}
	_ reconcilers.TypedDependencyLister[v1alpha1.LineInFileSpec] = Reconciler{}
)

// Kind implements reconcilers.Reconciler.
func (Reconciler) Kind() string { return v1alpha1.LineInFileKind.Kind }

// Queries reads every edited file of the host in one command.
func (Reconciler) Queries(_ *v1alpha1.Host, objs []reconcilers.Object[v1alpha1.LineInFileSpec]) []reconcilers.Query {
	return reconcilers.QueryPaths(objs, func(s *v1alpha1.LineInFileSpec) reconcilers.PathRequest {
		return reconcilers.PathRequest{Path: s.Path, ContentLimit: ContentLimit}
	})
}

// Dependencies orders the edit after the File resource that makes the file,
// the Directory resources that hold it and the accounts that own it.
func (Reconciler) Dependencies(obj reconcilers.Object[v1alpha1.LineInFileSpec], all []*v1alpha1.Resource) []v1alpha1.ResourceRef {
	s := obj.Spec
	return append(textedit.FileDependencies(s.Path, all), reconcilers.AccountDependencies(s.Owner, s.Group, all)...)
}

// Plan implements reconcilers.Reconciler: every line of the resource is
// planned in order, against the content the lines before it leave, and
// the whole edit is one action.
func (Reconciler) Plan(_ context.Context, req reconcilers.TypedRequest[v1alpha1.LineInFileSpec]) ([]reconcilers.Action, error) {
	s := req.Spec
	t := textedit.Target{Kind: "LineInFile", Path: s.Path, Mode: s.Mode, Owner: s.Owner, Group: s.Group,
		Validate: s.Validate, Create: s.Create, Absent: s.State == v1alpha1.StateAbsent}
	cur, lines, err := textedit.Observe(req.Facts, t)
	if err != nil {
		return nil, err
	}
	ops, changes, after, err := planEntries(s, lines)
	if err != nil {
		return nil, err
	}
	// Lines that undo each other (one that another's regexp replaces)
	// would edit the file on every run: refuse them.
	if _, again, _, err := planEntries(s, after); err == nil && len(again) > 0 {
		return nil, fmt.Errorf("spec.lines: the lines undo each other: after this edit, spec.%s would change the file again; make each line match only its own regexp", again[0].Field)
	}
	return textedit.Plan(t, cur, lines, ops, changes, describe(ops))
}

// planEntries plans every line of s in order, each against the content the
// lines before it leave, and returns the content after all of them.
func planEntries(s *v1alpha1.LineInFileSpec, lines []string) ([]textedit.Op, []reconcilers.Change, []string, error) {
	after := lines
	var ops []textedit.Op
	var changes []reconcilers.Change
	for i, e := range s.Entries() {
		field := "line"
		if len(s.Lines) > 0 {
			field = fmt.Sprintf("lines[%d]", i)
		}
		op, change, err := plan(e, after)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("spec.%s: %w", field, err)
		}
		if op == nil {
			continue
		}
		change.Field = field
		ops, changes = append(ops, *op), append(changes, change)
		after = textedit.Apply(after, *op)
	}
	return ops, changes, after, nil
}

// plan decides the edit of one line the way Ansible's lineinfile does: the
// last line matching regexp is replaced; without a match the line is added
// after the last line matching insertAfter (or before insertBefore), or at
// the end, unless it is already there. Absent removes every line matching
// regexp, or equal to line.
func plan(l v1alpha1.LineSpec, lines []string) (*textedit.Op, reconcilers.Change, error) {
	var re *regexp.Regexp
	if l.Regexp != "" {
		var err error
		if re, err = regexp.Compile(l.Regexp); err != nil {
			return nil, reconcilers.Change{}, fmt.Errorf("regexp: %w", err)
		}
	}
	if l.State == v1alpha1.StateAbsent {
		op := &textedit.Op{Kind: textedit.Delete}
		seen := map[string]bool{}
		for _, x := range lines {
			hit := x == l.Line
			if re != nil {
				hit = re.MatchString(x)
			}
			if hit && !seen[x] {
				seen[x] = true
				op.Lines = append(op.Lines, x)
			}
		}
		if len(op.Lines) == 0 {
			return nil, reconcilers.Change{}, nil
		}
		return op, reconcilers.Change{Before: strings.Join(op.Lines, "\n")}, nil
	}
	if re != nil {
		for i := len(lines) - 1; i >= 0; i-- {
			if re.MatchString(lines[i]) {
				if lines[i] == l.Line {
					return nil, reconcilers.Change{}, nil
				}
				return &textedit.Op{Kind: textedit.Set, Line: l.Line, Old: lines[i], HasOld: true},
					reconcilers.Change{Before: lines[i], After: l.Line}, nil
			}
		}
	}
	for _, x := range lines {
		if x == l.Line {
			return nil, reconcilers.Change{}, nil
		}
	}
	where, anchor, err := textedit.Anchor(lines, l.InsertAfter, l.InsertBefore)
	if err != nil {
		return nil, reconcilers.Change{}, err
	}
	return &textedit.Op{Kind: textedit.Set, Line: l.Line, Where: where, Anchor: anchor}, reconcilers.Change{After: l.Line}, nil
}

// describe says what ops do, for the action's description.
func describe(ops []textedit.Op) string {
	switch {
	case len(ops) != 1:
		return fmt.Sprintf("edit %d lines of", len(ops))
	case ops[0].Kind == textedit.Delete:
		return fmt.Sprintf("remove %d line(s) from", len(ops[0].Lines))
	case ops[0].HasOld:
		return "replace a line of"
	}
	return "add a line to"
}
