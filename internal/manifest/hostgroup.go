package manifest

import (
	"fmt"
	"maps"
	"net"
	"strconv"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// expandHostGroups replaces every HostGroup by the Hosts it stands for, so
// that everything after loading (selectors, Go-declared resources, the
// engine, the controller's status) sees Hosts only. Each generated Host is
// checked like a written one; an error names the member's line.
func (st *load) expandHostGroups() {
	out := st.docs[:0:0]
	for _, d := range st.docs {
		g, ok := d.res.Spec.(*v1alpha1.HostGroupSpec)
		if !ok {
			out = append(out, d)
			continue
		}
		for i := range g.Members {
			if h := st.member(d, g, i); h != nil {
				out = append(out, &loaded{res: h, file: d.file, root: d.root, group: d, member: i})
			}
		}
	}
	st.docs = out
}

// member makes the Host of member i of group d, or reports why it cannot.
func (st *load) member(d *loaded, g *v1alpha1.HostGroupSpec, i int) *v1alpha1.Resource {
	m := g.Members[i]
	at := fmt.Sprintf("spec.members[%d]", i)
	bad := false
	report := func(field, msg string) {
		path := at + "." + field
		line, found := locate(d.root, path)
		if !found {
			// A field the member does not set comes from the template.
			if tl, ok := locate(d.root, "spec.template."+field); ok {
				path, line = "spec.template."+field, tl
			}
		}
		st.addErr(d.file, line, d.res.ID(), path, fmt.Sprintf("member %q: %s", m.Name, msg))
		bad = true
	}

	spec := g.Template.Spec // shared pointers (secrets, become) are only read
	if m.Address != "" {
		host, port, err := splitAddress(m.Address)
		if err != nil {
			report("address", err.Error())
			return nil
		}
		spec.Address = host
		if port != 0 {
			if m.Port != 0 && m.Port != port {
				report("port", fmt.Sprintf("%d contradicts the port %d in address %q; give one of them", m.Port, port, m.Address))
				return nil
			}
			spec.Port = port
		}
	}
	if m.Port != 0 {
		spec.Port = m.Port
	}
	if len(m.Vars) > 0 {
		spec.Vars = merged(g.Template.Spec.Vars, m.Vars)
	}
	res := &v1alpha1.Resource{
		TypeMeta: v1alpha1.TypeMeta{APIVersion: d.res.APIVersion, Kind: v1alpha1.HostKind.Kind},
		Metadata: v1alpha1.ObjectMeta{Name: m.Name, Labels: merged(g.Template.Metadata.Labels, m.Labels),
			Annotations: g.Template.Metadata.Annotations},
		Spec:   &spec,
		Origin: v1alpha1.Origin{File: d.res.Origin.File, Line: lineOf(d.root, at+".name"), Dir: d.res.Origin.Dir},
	}
	spec.Default(&res.Metadata)
	field := func(path string) string {
		if p, ok := strings.CutPrefix(path, "metadata."); ok {
			return p
		}
		return strings.TrimPrefix(path, "spec.")
	}
	validateStruct(&res.Metadata, "metadata", func(path, msg string) { report(field(path), msg) })
	validateStruct(res.Spec, "spec", func(path, msg string) { report(field(path), msg) })
	runChecks(res.Spec, "spec", func(path, msg string) { report(field(path), msg) })
	resolvePaths(res, func(path, msg string) { report(field(path), msg) })
	ref := res.Ref()
	if prev, dup := st.declared[ref]; dup {
		report("name", fmt.Sprintf("duplicate %s: also defined at %s", ref, prev))
	} else if m.Name != "" {
		st.declared[ref] = fmt.Sprintf("%s:%d", d.file, res.Origin.Line)
	}
	if bad {
		return nil
	}
	return res
}

// splitAddress reads "host", "host:port", "[v6]:port" or a bare IPv6
// address.
func splitAddress(s string) (string, int, error) {
	if ip := net.ParseIP(s); ip != nil || !strings.Contains(s, ":") {
		return s, 0, nil
	}
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("address %q is not host, host:port or [ipv6]:port", s)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("address %q: port %q is not a number from 1 to 65535", s, p)
	}
	return host, port, nil
}

// merged returns base overlaid with over, as a new map.
func merged[V any](base, over map[string]V) map[string]V {
	if len(base) == 0 && len(over) == 0 {
		return nil
	}
	out := make(map[string]V, len(base)+len(over))
	maps.Copy(out, base)
	maps.Copy(out, over)
	return out
}
