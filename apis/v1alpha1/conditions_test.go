package v1alpha1

import "testing"

func TestHostRequirementsOnFactsAndVars(t *testing.T) {
	bookworm := &HostFacts{OS: OSFacts{ID: "debian", VersionID: "12"}, MemoryMB: 2048}
	point := &HostFacts{OS: OSFacts{ID: "debian", VersionID: "12.5"}}
	ubuntu := &HostFacts{OS: OSFacts{ID: "ubuntu", VersionID: "22.04", IDLike: []string{"debian"}}}
	alpine := &HostFacts{OS: OSFacts{ID: "alpine", VersionID: "3.20"}}
	sid := &HostFacts{OS: OSFacts{ID: "debian"}}
	fact := func(key string, op SelectorOperator, values ...string) *LabelSelector {
		return &LabelSelector{MatchFactExpressions: []HostRequirement{{Key: key, Operator: op, Values: values}}}
	}
	for _, tc := range []struct {
		name  string
		sel   *LabelSelector
		facts *HostFacts
		want  bool
	}{
		{"Ge equal", fact("os.versionId", SelectorGe, "12"), bookworm, true},
		{"Ge point release", fact("os.versionId", SelectorGe, "12"), point, true},
		{"Gt point release above major", fact("os.versionId", SelectorGt, "12"), point, true},
		{"Lt", fact("os.versionId", SelectorLt, "12"), bookworm, false},
		{"Le", fact("os.versionId", SelectorLe, "12"), bookworm, true},
		{"versions by segment", fact("os.versionId", SelectorGt, "3.9"), alpine, true},
		{"numbers", fact("memoryMB", SelectorGe, "1024"), bookworm, true},
		{"no version never compares", fact("os.versionId", SelectorLt, "99"), sid, false},
		{"empty fact does not exist", fact("os.versionId", SelectorDoesNotExist), sid, true},
		{"Exists", fact("os.versionId", SelectorExists), bookworm, true},
		{"In", fact("os.id", SelectorIn, "debian", "ubuntu"), ubuntu, true},
		{"NotIn", fact("os.id", SelectorNotIn, "debian", "ubuntu"), alpine, true},
		{"family of a derivative", fact("os.family", SelectorIn, "Debian"), ubuntu, true},
		{"family of alpine", fact("os.family", SelectorIn, "Debian"), alpine, false},
		{"with matchFacts", &LabelSelector{MatchFacts: map[string]string{"os.id": "debian"},
			MatchFactExpressions: []HostRequirement{{Key: "os.versionId", Operator: SelectorGe, Values: []string{"13"}}}}, bookworm, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.sel.HasFacts() {
				t.Fatal("HasFacts = false")
			}
			if got := tc.sel.MatchesFacts(tc.facts); got != tc.want {
				t.Errorf("MatchesFacts = %v, want %v", got, tc.want)
			}
		})
	}

	vars := map[string]any{"env": "prod", "ssh": map[string]any{"port": 2222.0}, "fail2ban": true}
	v := func(key string, op SelectorOperator, values ...string) *LabelSelector {
		return &LabelSelector{MatchVarExpressions: []HostRequirement{{Key: key, Operator: op, Values: values}}}
	}
	for _, tc := range []struct {
		name string
		sel  *LabelSelector
		want bool
	}{
		{"In", v("env", SelectorIn, "prod"), true},
		{"bool as text", v("fail2ban", SelectorIn, "true"), true},
		{"nested number", v("ssh.port", SelectorGt, "1024"), true},
		{"mapping is no value", v("ssh", SelectorIn, "x"), false},
		{"absent", v("dc", SelectorDoesNotExist), true},
		{"absent NotIn", v("dc", SelectorNotIn, "a"), true},
	} {
		t.Run("vars "+tc.name, func(t *testing.T) {
			if got := tc.sel.MatchesVars(vars); got != tc.want {
				t.Errorf("MatchesVars = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHostRequirementChecks(t *testing.T) {
	sel := &LabelSelector{
		MatchFactExpressions: []HostRequirement{
			{Key: "os.version", Operator: SelectorGe, Values: []string{"12"}},
			{Key: "os.versionId", Operator: SelectorGe, Values: []string{"bookworm"}},
			{Key: "os.versionId", Operator: SelectorLt, Values: []string{"12", "13"}},
		},
		MatchVarExpressions: []HostRequirement{{Key: "env", Operator: SelectorExists, Values: []string{"x"}}},
	}
	want := []string{
		"matchFactExpressions[0].key",
		"matchFactExpressions[1].values",
		"matchFactExpressions[2].values",
		"matchVarExpressions[0].values",
	}
	errs := sel.Check()
	if len(errs) != len(want) {
		t.Fatalf("Check = %+v, want errors at %v", errs, want)
	}
	for i, e := range errs {
		if e.Path != want[i] {
			t.Errorf("error %d at %s, want %s (%s)", i, e.Path, want[i], e.Message)
		}
	}
}
