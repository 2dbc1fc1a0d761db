package manifest

import (
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

func TestLabelSelectorMatches(t *testing.T) {
	web := map[string]string{"role": "web", "env": "prod"}
	for _, tc := range []struct {
		name string
		sel  *v1alpha1.LabelSelector
		want bool
	}{
		{"nil matches all", nil, true},
		{"empty matches all", &v1alpha1.LabelSelector{}, true},
		{"matchLabels equal", &v1alpha1.LabelSelector{MatchLabels: map[string]string{"role": "web"}}, true},
		{"matchLabels differ", &v1alpha1.LabelSelector{MatchLabels: map[string]string{"role": "db"}}, false},
		{"matchLabels missing key", &v1alpha1.LabelSelector{MatchLabels: map[string]string{"zone": "a"}}, false},
		{"In hit", sel("env", v1alpha1.SelectorIn, "prod", "test"), true},
		{"In miss", sel("env", v1alpha1.SelectorIn, "test"), false},
		{"In absent key", sel("zone", v1alpha1.SelectorIn, "a"), false},
		{"NotIn hit", sel("env", v1alpha1.SelectorNotIn, "prod"), false},
		{"NotIn miss", sel("env", v1alpha1.SelectorNotIn, "test"), true},
		{"NotIn absent key", sel("zone", v1alpha1.SelectorNotIn, "a"), true},
		{"Exists", sel("role", v1alpha1.SelectorExists), true},
		{"Exists absent", sel("gpu", v1alpha1.SelectorExists), false},
		{"DoesNotExist", sel("gpu", v1alpha1.SelectorDoesNotExist), true},
		{"DoesNotExist present", sel("role", v1alpha1.SelectorDoesNotExist), false},
		{"unknown operator", sel("role", "Like", "web"), false},
		{"all must hold", &v1alpha1.LabelSelector{
			MatchLabels:      map[string]string{"role": "web"},
			MatchExpressions: []v1alpha1.LabelSelectorRequirement{{Key: "env", Operator: v1alpha1.SelectorIn, Values: []string{"test"}}},
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.sel.Matches(web); got != tc.want {
				t.Errorf("Matches = %v, want %v", got, tc.want)
			}
		})
	}
}

func sel(key string, op v1alpha1.SelectorOperator, values ...string) *v1alpha1.LabelSelector {
	return &v1alpha1.LabelSelector{MatchExpressions: []v1alpha1.LabelSelectorRequirement{{Key: key, Operator: op, Values: values}}}
}

func TestParseSelector(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want is the String() form, or "error"
	}{
		{"", ""},
		{"role=web", "role=web"},
		{"role==web", "role=web"},
		{" role = web , env!=prod", "role=web,env notin (prod)"},
		{"tier in (a, b),!legacy,gpu", "tier in (a,b),!legacy,gpu"},
		{"tier notin (a)", "tier notin (a)"},
		{"tier in a", "error"},
		{"role=web,,env=x", "error"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			s, err := v1alpha1.ParseSelector(tc.in)
			if tc.want == "error" {
				if err == nil {
					t.Fatalf("ParseSelector(%q) = %v, want an error", tc.in, s)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}
