package v1alpha1

import (
	"reflect"
	"testing"
)

func TestHostIndexCandidates(t *testing.T) {
	host := func(name string, labels map[string]string) *Host {
		return &Host{Metadata: ObjectMeta{Name: name, Labels: labels}}
	}
	a := host("a", map[string]string{"role": "web", "rack": "r1"})
	b := host("b", map[string]string{"role": "web", "rack": "r2"})
	c := host("c", map[string]string{"role": "db", "rack": "r1"})
	d := host("d", nil)
	x := NewHostIndex([]*Host{a, b, c, d})
	names := func(hs []*Host) []string {
		var out []string
		for _, h := range hs {
			out = append(out, h.Metadata.Name)
		}
		return out
	}
	for _, tc := range []struct {
		sel  *LabelSelector
		want []string
	}{
		{nil, []string{"a", "b", "c", "d"}},
		{&LabelSelector{}, []string{"a", "b", "c", "d"}},
		{&LabelSelector{MatchExpressions: []LabelSelectorRequirement{{Key: "role", Operator: "Exists"}}}, []string{"a", "b", "c", "d"}},
		{&LabelSelector{MatchLabels: map[string]string{"role": "web"}}, []string{"a", "b"}},
		// The rarer pair narrows the candidates; the caller still matches each.
		{&LabelSelector{MatchLabels: map[string]string{"role": "web", "rack": "r2"}}, []string{"b"}},
		{&LabelSelector{MatchLabels: map[string]string{"role": "none"}}, nil},
	} {
		if got := names(x.Candidates(tc.sel)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v: candidates %v, want %v", tc.sel, got, tc.want)
		}
		// Every host the selector matches is a candidate.
		for _, h := range []*Host{a, b, c, d} {
			if tc.sel.MatchesHost(h) && !contains(names(x.Candidates(tc.sel)), h.Metadata.Name) {
				t.Errorf("%+v matches %s, which is not a candidate", tc.sel, h.Metadata.Name)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
