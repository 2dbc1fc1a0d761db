package file

import (
	"reflect"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// TestJinjaVars checks what a Jinja2 template sees: group_names from the
// group labels, facts under Ansible's names, whole numbers as integers,
// and vars that are themselves templates rendered.
func TestJinjaVars(t *testing.T) {
	facts := &v1alpha1.HostFacts{OS: v1alpha1.OSFacts{ID: "ubuntu", VersionID: "22.04"}, Arch: "aarch64", CPUs: 2,
		Hostname: "web1.example.com", Addresses: []string{"10.0.0.5", "fe80::1"}}
	labels := map[string]string{v1alpha1.GroupLabelPrefix + "web": "true", v1alpha1.GroupLabelPrefix + "prod": "true",
		v1alpha1.GroupLabelPrefix + "old": "false", "role": "web"}
	vars := map[string]any{"port": float64(8080), "ratio": 0.5, "url": "http://{{ inventory_hostname }}:{{ port }}",
		"list": []any{float64(1), "a"}}
	got := JinjaVars("web1", labels, vars, facts)
	want := map[string]any{
		"group_names":                        []string{"prod", "web"},
		"inventory_hostname_short":           "web1",
		"ansible_distribution":               "Ubuntu",
		"ansible_os_family":                  "Debian",
		"ansible_distribution_major_version": "22",
		"ansible_architecture":               "aarch64",
		"ansible_hostname":                   "web1",
		"ansible_fqdn":                       "web1.example.com",
		"ansible_all_ipv4_addresses":         []any{"10.0.0.5"},
		"ansible_all_ipv6_addresses":         []any{"fe80::1"},
		"port":                               int64(8080),
		"ratio":                              0.5,
		"url":                                "http://web1:8080",
		"list":                               []any{int64(1), "a"},
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s = %#v, want %#v", k, got[k], w)
		}
	}
	if af := got["ansible_facts"].(map[string]any); af["processor_vcpus"] != 2 || af["distribution"] != "Ubuntu" {
		t.Errorf("ansible_facts: %v", af)
	}
	if vars["port"] != float64(8080) || vars["url"] != "http://{{ inventory_hostname }}:{{ port }}" {
		t.Errorf("the host's vars were changed: %v", vars)
	}
}
