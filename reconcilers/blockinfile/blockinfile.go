package blockinfile

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/textedit"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Reconciler reconciles BlockInFile resources.
type Reconciler struct{}

var (
	_ reconcilers.TypedReconciler[v1alpha1.BlockInFileSpec]       = Reconciler{}
	_ reconcilers.TypedDependencyLister[v1alpha1.BlockInFileSpec] = Reconciler{}
)

// Kind implements reconcilers.Reconciler.
func (Reconciler) Kind() string { return v1alpha1.BlockInFileKind.Kind }

// Queries reads every edited file of the host in one command.
func (Reconciler) Queries(_ *v1alpha1.Host, objs []reconcilers.Object[v1alpha1.BlockInFileSpec]) []reconcilers.Query {
	return reconcilers.QueryPaths(objs, func(s *v1alpha1.BlockInFileSpec) reconcilers.PathRequest {
		return reconcilers.PathRequest{Path: s.Path, ContentLimit: textedit.ContentLimit}
	})
}

// Dependencies orders the edit after the File resource that makes the file,
// the Directory resources that hold it and the accounts that own it.
func (Reconciler) Dependencies(obj reconcilers.Object[v1alpha1.BlockInFileSpec], all []*v1alpha1.Resource) []v1alpha1.ResourceRef {
	s := obj.Spec
	return append(textedit.FileDependencies(s.Path, all), reconcilers.AccountDependencies(s.Owner, s.Group, all)...)
}

// Plan implements reconcilers.Reconciler.
func (Reconciler) Plan(_ context.Context, req reconcilers.TypedRequest[v1alpha1.BlockInFileSpec]) ([]reconcilers.Action, error) {
	s := req.Spec
	t := textedit.Target{Kind: "BlockInFile", Path: s.Path, Mode: s.Mode, Owner: s.Owner, Group: s.Group,
		Validate: s.Validate, Create: s.Create, Absent: s.State == v1alpha1.StateAbsent}
	cur, lines, err := textedit.Observe(req.Facts, t)
	if err != nil {
		return nil, err
	}
	begin, end := s.Markers()
	b, e := textedit.FindBlock(lines, begin, end)
	var ops []textedit.Op
	var changes []reconcilers.Change
	what := "add block " + req.Resource.Metadata.Name + " to"
	switch {
	case s.State == v1alpha1.StateAbsent:
		if b >= 0 {
			ops = append(ops, textedit.Op{Kind: textedit.DeleteBlock, Begin: begin, End: end})
			changes = append(changes, reconcilers.Change{Field: "block", Before: strings.Join(lines[b+1:e], "\n")})
			what = "remove block " + req.Resource.Metadata.Name + " from"
		}
	case b >= 0 && slices.Equal(lines[b+1:e], s.BlockLines()):
	default:
		op := textedit.Op{Kind: textedit.Block, Begin: begin, End: end, Lines: s.BlockLines()}
		change := reconcilers.Change{Field: "block", After: strings.Join(op.Lines, "\n")}
		if b >= 0 {
			change.Before = strings.Join(lines[b+1:e], "\n")
			what = "update block " + req.Resource.Metadata.Name + " in"
		} else if op.Where, op.Anchor, err = textedit.Anchor(lines, s.InsertAfter, s.InsertBefore); err != nil {
			return nil, fmt.Errorf("spec.insertAfter/insertBefore: %w", err)
		}
		ops, changes = append(ops, op), append(changes, change)
	}
	return textedit.Plan(t, cur, lines, ops, changes, what)
}
