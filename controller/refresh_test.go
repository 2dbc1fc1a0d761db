package controller

import (
	"context"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// replacingRefresher is a test kind whose refresh takes the place of a
// planned create, as a Service's "start, or restart if running" does.
type replacingRefresher struct {
	markerReconciler
	replaces reconcilers.Op
	changed  *[]v1alpha1.ResourceRef // what Refresh was told changed
}

func (replacingRefresher) Triggers(*v1alpha1.Resource) []v1alpha1.ResourceRef {
	return []v1alpha1.ResourceRef{{Kind: "Marker", Name: "a"}, {Kind: "Marker", Name: "b"}, {Kind: "Marker", Name: "a"}}
}

func (r replacingRefresher) Refresh(_ context.Context, req reconcilers.Request, _ []reconcilers.Action) ([]reconcilers.Action, error) {
	*r.changed = req.Changed
	return []reconcilers.Action{{Op: reconcilers.OpCreate, Description: "start or restart", Replaces: r.replaces}}, nil
}

func TestRefreshReplacesThePlannedAction(t *testing.T) {
	var changed []v1alpha1.ResourceRef
	rf := replacingRefresher{replaces: reconcilers.OpCreate, changed: &changed}
	reg, err := reconcilers.NewRegistry(rf)
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{Registry: reg}
	req := reconcilers.Request{Resource: &v1alpha1.Resource{TypeMeta: v1alpha1.TypeMeta{Kind: "Marker"}, Metadata: v1alpha1.ObjectMeta{Name: "svc"}}}
	planned := []reconcilers.Action{{Op: reconcilers.OpCreate, Description: "start"}, {Op: reconcilers.OpUpdate, Description: "enable"}}
	changing := map[v1alpha1.ResourceRef]bool{{Kind: "Marker", Name: "a"}: true}

	got, n, err := e.refresh(context.Background(), req, planned, changing, false)
	if err != nil {
		t.Fatal(err)
	}
	var desc []string
	for _, a := range got {
		desc = append(desc, a.Description)
	}
	if strings.Join(desc, "; ") != "enable; start or restart" || n != 1 {
		t.Errorf("actions %q (%d refreshes), want the start replaced by the refresh, last", desc, n)
	}
	if len(changed) != 1 || changed[0].Name != "a" {
		t.Errorf("Refresh was told %v changed, want Marker/a once", changed)
	}
	if planned[0].Description != "start" {
		t.Errorf("the planned actions were modified: %v", planned)
	}

	// Owed by an earlier run: nothing changed, the refresh says why it runs.
	got, _, err = e.refresh(context.Background(), req, planned, nil, true)
	if err != nil || len(changed) != 0 || len(got) != 2 || !strings.Contains(got[1].Description, "(pending:") {
		t.Errorf("owed refresh: %v, %v (told %v changed)", got, err, changed)
	}

	// A kind that replaces what was not planned is a bug to report, not a
	// refresh to drop.
	rf.replaces = reconcilers.OpDelete
	reg, _ = reconcilers.NewRegistry(rf)
	e.Registry = reg
	if _, _, err := e.refresh(context.Background(), req, planned, changing, false); err == nil {
		t.Error("a replacement of an action that was not planned was accepted")
	}
}
