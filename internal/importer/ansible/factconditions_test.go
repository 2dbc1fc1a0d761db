package ansible

import (
	"reflect"
	"strings"
	"testing"
)

func TestFactConditionsBecomeSelectors(t *testing.T) {
	for _, tc := range []struct {
		when string
		want factExpr
	}{
		{`ansible_os_family == "Debian"`, factExpr{"os.family", "In", []string{"Debian"}}},
		{`ansible_facts['os_family'] != 'RedHat'`, factExpr{"os.family", "NotIn", []string{"RedHat"}}},
		{`ansible_distribution in ['Debian', 'Ubuntu']`, factExpr{"os.id", "In", []string{"debian", "ubuntu"}}},
		{`ansible_distribution not in ("Alpine",)`, factExpr{"os.id", "NotIn", []string{"alpine"}}},
		{`ansible_os_family == 'Debian' or ansible_os_family == 'Suse'`, factExpr{"os.family", "In", []string{"Debian", "Suse"}}},
		{`ansible_distribution == 'Debian' or ansible_distribution in ['Ubuntu', 'Debian']`, factExpr{"os.id", "In", []string{"debian", "ubuntu"}}},
		{`ansible_distribution_major_version | int >= 12`, factExpr{"os.versionId", "Ge", []string{"12"}}},
		{`ansible_distribution_major_version|int > 11`, factExpr{"os.versionId", "Ge", []string{"12"}}},
		{`ansible_distribution_major_version | int <= 12`, factExpr{"os.versionId", "Lt", []string{"13"}}},
		{`ansible_distribution_version is version('12.5', '>=')`, factExpr{"os.versionId", "Ge", []string{"12.5"}}},
		{`ansible_memtotal_mb < 1024`, factExpr{"memoryMB", "Lt", []string{"1024"}}},
	} {
		got, isFact, msg := factCondition(tc.when)
		if !isFact || msg != "" || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("when %q: %+v (fact %v, %q), want %+v", tc.when, got, isFact, msg, tc.want)
		}
	}
}

func TestFactConditionsThatStayPlaceholders(t *testing.T) {
	for _, tc := range []struct{ when, msg string }{
		{`ansible_os_family == 'Debian' or ansible_distribution == 'Fedora'`, "only between == or in tests of one fact"},
		{`ansible_os_family == 'Debian' or custom_flag`, "not a test of a fact"},
		{`ansible_distribution in my_list`, ""},
		{`ansible_nodename >= 3`, "not a version or a number"},
		{`ansible_selinux == 'enabled'`, "has no Optimus fact"},
	} {
		_, isFact, msg := factCondition(tc.when)
		if tc.msg == "" {
			if isFact {
				t.Errorf("when %q read as a fact condition", tc.when)
			}
			continue
		}
		if !isFact || !strings.Contains(msg, tc.msg) {
			t.Errorf("when %q: fact %v, message %q, want one containing %q", tc.when, isFact, msg, tc.msg)
		}
	}
}

func TestSplitAndKeepsValueLists(t *testing.T) {
	got := splitAnd(`ansible_distribution in ('Debian', 'Ubuntu') and 'web' in group_names`)
	if len(got) != 2 {
		t.Errorf("split into %q, want two clauses", got)
	}
	if got := splitAnd(`(a == 'x' or b == 'y') and c`); len(got) != 1 {
		t.Errorf("grouping split into %q", got)
	}
}

func TestSelectorSpecWritesFactExpressions(t *testing.T) {
	s := selector{facts: map[string]string{"os.id": "debian"}}.and(selector{exprs: []factExpr{{"os.versionId", "Ge", []string{"12"}}}})
	spec := s.spec()
	exprs, ok := spec["matchFactExpressions"].([]any)
	if !ok || len(exprs) != 1 || spec["matchFacts"] == nil {
		t.Fatalf("spec %v", spec)
	}
	if e := exprs[0].(map[string]any); e["key"] != "os.versionId" || e["operator"] != "Ge" {
		t.Errorf("expression %v", e)
	}
}
