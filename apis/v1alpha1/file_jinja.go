package v1alpha1

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/optimus-cm/optimus/internal/jinja"
)

var _ HostChecker = (*FileSpec)(nil)

// JinjaHostVariables are the variables a Jinja2 template sees besides the
// host's vars: the host's name and groups, and its facts under Ansible's
// names. The File reconciler sets exactly these (a test holds both to
// it); their values come from the host, but their names are known before
// it is reached.
var JinjaHostVariables = []string{
	"ansible_all_ipv4_addresses", "ansible_all_ipv6_addresses", "ansible_architecture", "ansible_distribution",
	"ansible_distribution_major_version", "ansible_distribution_version", "ansible_facts", "ansible_fqdn",
	"ansible_hostname", "ansible_interfaces", "ansible_kernel", "ansible_machine", "ansible_memtotal_mb",
	"ansible_nodename", "ansible_os_family", "ansible_processor_nproc", "ansible_processor_vcpus", "ansible_system",
	"facts", "group_names", "host", "inventory_hostname", "inventory_hostname_short", "vars",
}

var jinjaHostVariables = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range JinjaHostVariables {
		m[n] = true
	}
	return m
}()

// jinjaSource returns the template's text and where it comes from: the
// field, and "line" for inline content or the source file's name. ok is
// false without content, or when source cannot be read (the loader
// reports that itself).
func (s *FileSpec) jinjaSource() (field, where, src string, ok bool) {
	switch {
	case s.Content != nil:
		return "content", "line", *s.Content, true
	case s.Source != "":
		b, err := os.ReadFile(s.Source)
		if err != nil {
			return "", "", "", false
		}
		return "source", filepath.Base(s.Source), string(b), true
	}
	return "", "", "", false
}

// CheckHosts finds, for a Jinja2 template, every variable it reads that a
// targeted host does not define, so that a misspelt or forgotten variable
// fails validate rather than the plan on the host. A variable whose value
// is itself a template (app_conf: "{{ app_dir }}/app.conf") is followed.
func (s *FileSpec) CheckHosts(hosts []*Host) []FieldError {
	if !s.Template.On() || s.Template.Engine != TemplateJinja2 || s.State == StateAbsent || len(hosts) == 0 {
		return nil
	}
	field, where, src, ok := s.jinjaSource()
	if !ok {
		return nil
	}
	t, err := jinja.Parse(src)
	if err != nil {
		return nil // Check reports it
	}
	at := "Jinja2 template, line %d"
	if where != "line" {
		at = "Jinja2 template " + where + ":%d"
	}
	var errs []FieldError
	// Hosts of one group share their values: each is parsed once.
	parsed := map[string][]jinja.Variable{}
	for _, v := range t.Variables() {
		if jinjaHostVariables[v.Name] {
			continue
		}
		// lacking maps what is undefined ("x", or "y (read by x)") to the
		// hosts that lack it, so that a fleet is one line, not one per host.
		lacking := map[string][]string{}
		for _, h := range hosts {
			var vars map[string]any
			if h.Spec != nil {
				vars = h.Spec.Vars
			}
			for _, what := range undefinedIn(v.Name, vars, parsed, 0) {
				lacking[what] = append(lacking[what], h.Metadata.Name)
			}
		}
		whats := make([]string, 0, len(lacking))
		for w := range lacking {
			whats = append(whats, w)
		}
		sort.Strings(whats)
		for _, w := range whats {
			hint := "define it in the Host's vars"
			if !strings.Contains(w, " (read by ") {
				hint += ", or read it as {{ " + v.Name + " | default(...) }}"
			}
			errs = append(errs, FieldError{Path: field, Message: fmt.Sprintf(at+": variable %s is undefined for %s: %s",
				v.Line, w, hostList(lacking[w], len(hosts)), hint)})
		}
	}
	return errs
}

// undefinedIn returns what name lacks in vars: itself when vars does not
// define it, else the undefined variables its value reads when that value
// is a template. parsed caches the variables each value reads.
func undefinedIn(name string, vars map[string]any, parsed map[string][]jinja.Variable, depth int) []string {
	v, ok := vars[name]
	if !ok {
		return []string{fmt.Sprintf("%q", name)}
	}
	str, isString := v.(string)
	if !isString || depth > 4 || (!strings.Contains(str, "{{") && !strings.Contains(str, "{%")) {
		return nil
	}
	reads, ok := parsed[str]
	if !ok {
		// A value that does not parse is rendered as written, as the File
		// reconciler does: it reads nothing.
		if t, err := jinja.Parse(str); err == nil {
			reads = t.Variables()
		}
		parsed[str] = reads
	}
	var out []string
	for _, inner := range reads {
		if jinjaHostVariables[inner.Name] || inner.Name == name {
			continue
		}
		for _, w := range undefinedIn(inner.Name, vars, parsed, depth+1) {
			out = append(out, w+" (read by "+name+")")
		}
	}
	return out
}

// hostList names the hosts, the first few of many.
func hostList(names []string, of int) string {
	sort.Strings(names)
	if len(names) == 1 {
		if of == 1 {
			return "host " + names[0]
		}
		return fmt.Sprintf("host %s (1 of the %d targeted)", names[0], of)
	}
	shown := names
	if len(shown) > 5 {
		shown = append(shown[:5:5], "...")
	}
	return fmt.Sprintf("%d of the %d hosts targeted (%s)", len(names), of, strings.Join(shown, ", "))
}
