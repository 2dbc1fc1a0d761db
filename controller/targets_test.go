package controller

import (
	"slices"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// TestTargetIndexMatchesSelectors checks that the index selects exactly
// what matching every selector against the host would, in manifest order.
func TestTargetIndexMatchesSelectors(t *testing.T) {
	withExpr := marker("expr", "1", map[string]string{"role": "web"})
	withExpr.Spec.(*markerSpec).HostSelector.MatchExpressions = []v1alpha1.LabelSelectorRequirement{
		{Key: "env", Operator: v1alpha1.SelectorNotIn, Values: []string{"prod"}}}
	onlyExpr := marker("only-expr", "1", nil)
	onlyExpr.Spec.(*markerSpec).HostSelector = &v1alpha1.LabelSelector{MatchExpressions: []v1alpha1.LabelSelectorRequirement{
		{Key: "env", Operator: v1alpha1.SelectorExists}}}
	resources := []*v1alpha1.Resource{
		marker("all", "1", nil),
		marker("web", "1", map[string]string{"role": "web"}),
		marker("web-prod", "1", map[string]string{"role": "web", "env": "prod"}),
		withExpr,
		onlyExpr,
		marker("db", "1", map[string]string{"role": "db"}),
		marker("all-2", "1", nil),
	}
	x := indexTargets(resources)
	for _, labels := range []map[string]string{
		nil,
		{"role": "web"},
		{"role": "web", "env": "prod"},
		{"role": "web", "env": "dev"},
		{"role": "db", "env": "prod", "zone": "a"},
		{"env": "prod"},
	} {
		var want []string
		for _, r := range resources {
			if r.Targeting().HostSelector.Matches(labels) {
				want = append(want, r.Metadata.Name)
			}
		}
		var got []string
		for _, r := range x.forHost(&v1alpha1.Host{Metadata: v1alpha1.ObjectMeta{Labels: labels}}) {
			got = append(got, r.Metadata.Name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("labels %v: got %v, want %v", labels, got, want)
		}
	}
}
