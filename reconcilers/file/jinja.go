package file

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/jinja"
)

// renderJinja renders a Jinja2 template with what an Ansible template sees:
// the host's vars at the top level, inventory_hostname, group_names, and
// the host's facts under Ansible's names (ansible_distribution and
// ansible_facts.distribution). The Optimus names are there too: host
// (name, labels), vars and facts.
func renderJinja(src, name string, labels map[string]string, vars map[string]any, facts *v1alpha1.HostFacts) ([]byte, bool, error) {
	tmpl, err := jinja.Parse(src)
	if err != nil {
		return nil, false, fmt.Errorf("spec.template: %w", err)
	}
	out, err := tmpl.Render(JinjaVars(name, labels, vars, facts))
	if err != nil {
		return nil, false, fmt.Errorf("spec.template: render for host %s: %w", name, err)
	}
	return out, true, nil
}

// JinjaVars is the variables a Jinja2 template sees.
func JinjaVars(name string, labels map[string]string, vars map[string]any, facts *v1alpha1.HostFacts) map[string]any {
	af := AnsibleFacts(facts)
	out := make(map[string]any, len(vars)+len(af)+8)
	for k, v := range af {
		out["ansible_"+k] = v
	}
	groups := []string{}
	for k, v := range labels {
		if g, ok := strings.CutPrefix(k, v1alpha1.GroupLabelPrefix); ok && v == "true" {
			groups = append(groups, g)
		}
	}
	slices.Sort(groups)
	short, _, _ := strings.Cut(name, ".")
	out["ansible_facts"] = af
	out["inventory_hostname"] = name
	out["inventory_hostname_short"] = short
	out["group_names"] = groups
	out["host"] = map[string]any{"name": name, "labels": labels}
	out["facts"] = facts
	out["vars"] = vars
	// The host's vars come last: one named like a fact replaces it.
	for k, v := range vars {
		out[k] = integers(v)
	}
	resolveVars(out)
	return out
}

// integers gives back as integers the whole numbers that manifest loading
// reads as float64 (vars are free-form), so that Jinja2 prints 8080 as
// YAML wrote it, not 8080.0. Maps and lists are copied, never changed.
func integers(v any) any {
	switch v := v.(type) {
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v)
		}
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = integers(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = integers(e)
		}
		return out
	}
	return v
}

// resolveVars renders the variables whose values are themselves templates
// (app_conf: "{{ app_dir }}/app.conf"), as Ansible does when a variable is
// read. A value that does not render is left as written; the template that
// reads it fails with the reason.
func resolveVars(vars map[string]any) {
	for range 4 {
		changed := false
		for k, v := range vars {
			s, ok := v.(string)
			if !ok || (!strings.Contains(s, "{{") && !strings.Contains(s, "{%")) {
				continue
			}
			t, err := jinja.Parse(s)
			if err != nil {
				continue
			}
			if out, err := t.Render(vars); err == nil && string(out) != s {
				vars[k], changed = string(out), true
			}
		}
		if !changed {
			return
		}
	}
}

// distributions maps os-release IDs to Ansible's distribution names and
// families, for the distributions Optimus manages.
var distributions = map[string]struct{ name, family string }{
	"debian":    {"Debian", "Debian"},
	"ubuntu":    {"Ubuntu", "Debian"},
	"raspbian":  {"Debian", "Debian"},
	"linuxmint": {"Linux Mint", "Debian"},
	"fedora":    {"Fedora", "RedHat"},
	"rhel":      {"RedHat", "RedHat"},
	"centos":    {"CentOS", "RedHat"},
	"rocky":     {"Rocky", "RedHat"},
	"almalinux": {"AlmaLinux", "RedHat"},
	"ol":        {"OracleLinux", "RedHat"},
	"amzn":      {"Amazon", "RedHat"},
	"alpine":    {"Alpine", "Alpine"},
	"arch":      {"Archlinux", "Archlinux"},
	"opensuse":  {"openSUSE Leap", "Suse"},
	"sles":      {"SLES", "Suse"},
}

// AnsibleFacts names the host's facts as Ansible's setup module does
// (without the ansible_ prefix): distribution, distribution_version,
// distribution_major_version, os_family, architecture, kernel, hostname,
// nodename, processor_vcpus, memtotal_mb, all_ipv4_addresses,
// all_ipv6_addresses, interfaces.
func AnsibleFacts(f *v1alpha1.HostFacts) map[string]any {
	if f == nil {
		f = &v1alpha1.HostFacts{}
	}
	d, ok := distributions[f.OS.ID]
	if !ok {
		d.name = strings.ToUpper(f.OS.ID[:min(1, len(f.OS.ID))]) + f.OS.ID[min(1, len(f.OS.ID)):]
		d.family = d.name
		for _, like := range f.OS.IDLike {
			if l, ok := distributions[like]; ok {
				d.family = l.family
				break
			}
		}
	}
	major, _, _ := strings.Cut(f.OS.VersionID, ".")
	var v4, v6 []any
	for _, a := range f.Addresses {
		if strings.Contains(a, ":") {
			v6 = append(v6, a)
		} else {
			v4 = append(v4, a)
		}
	}
	ifaces := []any{}
	for _, i := range f.Interfaces {
		ifaces = append(ifaces, i.Name)
	}
	short, _, _ := strings.Cut(f.Hostname, ".")
	return map[string]any{
		"distribution":               d.name,
		"distribution_version":       f.OS.VersionID,
		"distribution_major_version": major,
		"os_family":                  d.family,
		"system":                     "Linux",
		"architecture":               f.Arch,
		"machine":                    f.Arch,
		"kernel":                     f.Kernel,
		"hostname":                   short,
		"nodename":                   f.Hostname,
		"fqdn":                       f.Hostname,
		"processor_vcpus":            f.CPUs,
		"processor_nproc":            f.CPUs,
		"memtotal_mb":                f.MemoryMB,
		"all_ipv4_addresses":         orEmpty(v4),
		"all_ipv6_addresses":         orEmpty(v6),
		"interfaces":                 ifaces,
	}
}

func orEmpty(s []any) []any {
	if s == nil {
		return []any{}
	}
	return s
}
