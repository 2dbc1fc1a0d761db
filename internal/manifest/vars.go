package manifest

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// perHostFields are the spec fields that never read variables: they say
// which hosts a resource is for and what it depends on, which must be the
// same on every host.
var perHostFields = map[string]bool{"hostSelector": true, "dependsOn": true, "restartOn": true}

// VarSource is one variable of a host: its value and the resource that
// set it, with the lower-precedence resources it overrides.
type VarSource struct {
	// Name of the variable.
	Name string
	// Value as merged, a string, float64, bool, list or mapping.
	Value any
	// From is the resource that set it, and how: "GroupVars/web (priority
	// 10)", "HostGroup/web template", "HostGroup/web member web1",
	// "Host/web1".
	From string
	// At is the file:line of the value.
	At string
	// Overrides are the lower layers that set the variable too, highest
	// first.
	Overrides []VarSource
}

// varLayer is one resource's contribution to a host's variables.
type varLayer struct {
	from string
	d    *loaded
	path string // of the vars mapping in d.root
	vars map[string]any
}

// mergeVars gives every Host its variables, lowest precedence first: the
// GroupVars that select it by (priority, name), its HostGroup's template
// vars, its own vars. The GroupVars documents leave the set: they target
// no host themselves.
func (st *load) mergeVars() {
	var groups []*loaded
	out := st.docs[:0:0]
	for _, d := range st.docs {
		if _, ok := d.res.Spec.(*v1alpha1.GroupVarsSpec); ok {
			groups = append(groups, d)
			continue
		}
		out = append(out, d)
	}
	st.docs = out
	slices.SortStableFunc(groups, func(a, b *loaded) int {
		pa, pb := a.res.Spec.(*v1alpha1.GroupVarsSpec).Priority, b.res.Spec.(*v1alpha1.GroupVarsSpec).Priority
		return cmp.Or(cmp.Compare(pa, pb), strings.Compare(a.res.Metadata.Name, b.res.Metadata.Name))
	})
	st.vars = map[string][]VarSource{}
	for _, d := range st.docs {
		spec, ok := d.res.Spec.(*v1alpha1.HostSpec)
		if !ok {
			continue
		}
		var layers []varLayer
		for _, g := range groups {
			gv := g.res.Spec.(*v1alpha1.GroupVarsSpec)
			if gv.HostSelector.Matches(d.res.Metadata.Labels) {
				layers = append(layers, varLayer{fmt.Sprintf("%s (priority %d)", g.res.ID(), gv.Priority), g, "spec.vars", gv.Vars})
			}
		}
		if g := d.group; g != nil {
			gs := g.res.Spec.(*v1alpha1.HostGroupSpec)
			layers = append(layers,
				varLayer{g.res.ID() + " template", g, "spec.template.spec.vars", gs.Template.Spec.Vars},
				varLayer{g.res.ID() + " member " + d.res.Metadata.Name, g, fmt.Sprintf("spec.members[%d].vars", d.member), gs.Members[d.member].Vars})
		} else {
			layers = append(layers, varLayer{d.res.ID(), d, "spec.vars", spec.Vars})
		}
		spec.Vars, st.vars[d.res.Metadata.Name] = mergeLayers(layers)
	}
}

// mergeLayers merges variables by top-level key, the last layer winning,
// and says where each came from.
func mergeLayers(layers []varLayer) (map[string]any, []VarSource) {
	var vars map[string]any
	by := map[string]*VarSource{}
	for _, l := range layers {
		for k, v := range l.vars {
			if vars == nil {
				vars = map[string]any{}
			}
			vars[k] = v
			src := VarSource{Name: k, Value: v, From: l.from,
				At: fmt.Sprintf("%s:%d", l.d.file, lineOf(l.d.root, l.path+"["+k+"]"))}
			if prev := by[k]; prev != nil {
				src.Overrides = append([]VarSource{{Name: k, Value: prev.Value, From: prev.From, At: prev.At}}, prev.Overrides...)
			}
			by[k] = &src
		}
	}
	out := make([]VarSource, 0, len(by))
	for _, s := range by {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b VarSource) int { return strings.Compare(a.Name, b.Name) })
	return vars, out
}

// expandVars checks every document that reads variables once per host it
// selects, as that host's variant: the document with each ${vars.name}
// replaced by the host's value, decoded, defaulted and validated like a
// written one. Failures of the same field for several hosts are reported
// once, naming the hosts.
func (st *load) expandVars() {
	var hosts []*v1alpha1.Host
	for _, d := range st.docs {
		if h, ok := d.res.AsHost(); ok {
			hosts = append(hosts, h)
		}
	}
	for _, d := range st.docs {
		if !d.templated {
			continue
		}
		type failure struct {
			line        int
			field, text string
		}
		var order []failure
		failed := map[failure][]string{}
		for _, h := range hosts {
			if t := d.res.Targeting(); t != nil && !t.HostSelector.MatchesHost(h) {
				continue
			}
			v := st.variant(d, h, func(line int, field, msg string) {
				f := failure{line, field, msg}
				if _, seen := failed[f]; !seen {
					order = append(order, f)
				}
				failed[f] = append(failed[f], h.Metadata.Name)
			})
			if v != nil {
				d.res.SetVariant(h.Metadata.Name, v)
			}
		}
		for _, f := range order {
			st.addErr(d.file, f.line, d.res.ID(), f.field, hostsPrefix(failed[f])+f.text)
		}
	}
}

func hostsPrefix(hosts []string) string {
	switch n := len(hosts); {
	case n == 1:
		return "host " + hosts[0] + ": "
	case n <= 3:
		return "hosts " + strings.Join(hosts, ", ") + ": "
	default:
		return fmt.Sprintf("hosts %s and %d more: ", strings.Join(hosts[:3], ", "), n-3)
	}
}

// variant makes the resource of d as written for h, or reports why it
// cannot and returns nil.
func (st *load) variant(d *loaded, h *v1alpha1.Host, report func(line int, field, msg string)) *v1alpha1.Resource {
	root := copyNode(d.root)
	ns := map[string]lookupFunc{"vars": func(name string) (string, bool, error) {
		return v1alpha1.LookupVar(h.Spec.Vars, name)
	}}
	var metaNode, specNode *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch root.Content[i].Value {
		case "metadata":
			metaNode = root.Content[i+1]
		case "spec":
			specNode = root.Content[i+1]
		}
	}
	ok := true
	walkScalars(specNode, "spec", perHostFields, func(s *yaml.Node, path string) {
		out, err := substitute(s.Value, ns)
		if err != nil {
			report(s.Line, path, err.Error())
			ok = false
			return
		}
		s.Value = out
	})
	if !ok {
		return nil
	}
	kt, _ := st.l.Scheme.Lookup(d.res.Kind)
	res := &v1alpha1.Resource{TypeMeta: d.res.TypeMeta, Spec: kt.NewSpec(), Origin: d.res.Origin}
	conv := &converter{report: func(n *yaml.Node, path, msg string) { report(n.Line, path, msg); ok = false }}
	if metaNode != nil {
		conv.decode(metaNode, reflect.ValueOf(&res.Metadata).Elem(), "metadata")
	}
	conv.decode(specNode, reflect.ValueOf(res.Spec).Elem(), "spec")
	if !ok {
		return nil
	}
	written := func(path string) bool { _, found := locate(root, path); return found }
	if !checkResource(res, func(path, msg string) { report(lineOf(root, path), path, msg) }, written) {
		return nil
	}
	return res
}
