package manifest

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/depgraph"
)

// checkSet runs the checks that need every document: references, dependency
// cycles and selectors that match nothing. It returns the Set.
func (st *load) checkSet() *Set {
	set := &Set{index: map[v1alpha1.ResourceRef]*v1alpha1.Resource{}}
	for _, d := range st.docs {
		// A RolloutPolicy targets no host: it is set aside for the controller.
		if d.res.Kind == v1alpha1.RolloutPolicyKind.Kind {
			if set.Policy != nil {
				st.addErr(d.file, lineOf(d.root, "metadata"), d.res.ID(), "kind",
					"a manifest set holds at most one RolloutPolicy; another is "+set.Policy.ID()+": keep one")
			}
			set.Policy = d.res
			continue
		}
		set.Resources = append(set.Resources, d.res)
		set.index[d.res.Ref()] = d.res
	}
	st.checkRefs()
	st.checkCycles()
	st.checkJumps()
	warnings := st.checkKindHosts(set)
	set.Warnings = st.selectorWarnings(set, append(warnings, st.checkHosts(set)...))
	return set
}

var refType = reflect.TypeFor[v1alpha1.ResourceRef]()

// refs finds the ResourceRefs of a spec.
var refs = &typeFilter{match: func(t reflect.Type) bool { return t == refType || t == reflect.PointerTo(refType) }}

// checkRefs reports every dependsOn, restartOn or other ResourceRef in a spec
// that names no resource of the set.
func (st *load) checkRefs() {
	for _, d := range st.docs {
		walkValues(reflect.ValueOf(d.res.Spec), "spec", refs, func(v reflect.Value, path string) {
			if v.Kind() != reflect.Pointer || v.Type().Elem() != refType {
				return
			}
			ref := *v.Interface().(*v1alpha1.ResourceRef)
			if _, ok := st.declared[ref]; ok {
				return
			}
			st.addErr(d.file, lineOf(d.root, path), d.res.ID(), path, st.danglingMessage(ref))
		})
	}
}

func (st *load) danglingMessage(ref v1alpha1.ResourceRef) string {
	if _, ok := st.l.Scheme.Lookup(ref.Kind); !ok {
		return fmt.Sprintf("refers to unknown kind %q%s", ref.Kind, didYouMean(ref.Kind, st.kindNames()))
	}
	var names []string
	for r := range st.declared {
		if r.Kind == ref.Kind {
			names = append(names, r.Name)
		}
	}
	msg := fmt.Sprintf("%s does not exist in the manifests", ref)
	if s := suggest(ref.Name, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %s/%s?)", ref.Kind, s)
	}
	return msg
}

// checkCycles finds dependency cycles over dependsOn and the loader's
// implicit edges, reporting each strongly connected component once, at its
// resource that was loaded first.
func (st *load) checkCycles() {
	n := len(st.docs)
	pos := map[v1alpha1.ResourceRef]int{}
	all := make([]*v1alpha1.Resource, n)
	for i, d := range st.docs {
		pos[d.res.Ref()] = i
		all[i] = d.res
	}
	edges := make([][]int, n)
	for i, d := range st.docs {
		var refs []v1alpha1.ResourceRef
		if t := d.res.Targeting(); t != nil {
			refs = append(refs, t.DependsOn...)
		}
		if st.l.Edges != nil {
			refs = append(refs, st.l.Edges(d.res, all)...)
		}
		for _, r := range refs {
			if j, ok := pos[r]; ok {
				edges[i] = append(edges[i], j)
			}
		}
	}
	for _, cycle := range depgraph.Graph(edges).Cycles() {
		start := cycle[0]
		names := make([]string, 0, len(cycle)+1)
		for _, v := range cycle {
			names = append(names, all[v].ID())
		}
		names = append(names, all[start].ID())
		d := st.docs[start]
		st.addErr(d.file, lineOf(d.root, "spec.dependsOn"), d.res.ID(), "spec.dependsOn",
			"dependency cycle: "+strings.Join(names, " -> "))
	}
}

// selectorWarnings names every hostSelector that matches no Host, after
// the warnings given, all sorted.
func (st *load) selectorWarnings(set *Set, warnings []*Error) []string {
	idx := st.hostIndex(set)
	for _, d := range st.docs {
		t := d.res.Targeting()
		if t == nil || t.HostSelector == nil {
			continue
		}
		matched := false
		for _, h := range idx.Candidates(t.HostSelector) {
			if t.HostSelector.MatchesHost(h) {
				matched = true
				break
			}
		}
		if !matched {
			warnings = append(warnings, &Error{File: d.file, Line: lineOf(d.root, "spec.hostSelector"),
				Resource: d.res.ID(), Field: "spec.hostSelector", Message: "matches no Host"})
		}
	}
	sortErrors(warnings)
	out := make([]string, len(warnings))
	for i, w := range warnings {
		out[i] = w.Error()
	}
	return out
}

// checkKindHosts runs the loader's CheckHost for every resource and every
// host it targets (each host's variant, where the resource reads host
// variables). A problem found on several hosts is reported once, naming
// them. As for checkHosts, a selector on facts is decided only on the
// host: its problems are warnings, returned.
func (st *load) checkKindHosts(set *Set) []*Error {
	if st.l.CheckHost == nil {
		return nil
	}
	type problem struct {
		d  *loaded
		fe v1alpha1.FieldError
	}
	var order []problem
	hosts := map[problem][]string{}
	byRef := map[v1alpha1.ResourceRef]*loaded{}
	for _, d := range st.docs {
		byRef[d.res.Ref()] = d
	}
	idx := st.hostIndex(set)
	for _, r := range set.Resources {
		d, ok := byRef[r.Ref()]
		if _, isHost := r.AsHost(); isHost || !ok {
			continue
		}
		var sel *v1alpha1.LabelSelector
		if t := r.Targeting(); t != nil {
			sel = t.HostSelector
		}
		for _, h := range idx.Candidates(sel) {
			if !sel.MatchesHost(h) {
				continue
			}
			res := r.For(h.Metadata.Name)
			for _, fe := range st.l.CheckHost(res, h) {
				p := problem{d, fe}
				if _, seen := hosts[p]; !seen {
					order = append(order, p)
				}
				hosts[p] = append(hosts[p], h.Metadata.Name)
			}
		}
	}
	var warnings []*Error
	for _, p := range order {
		names := hosts[p]
		who := "host " + names[0]
		if len(names) > 1 {
			who = "hosts " + strings.Join(names[:min(3, len(names))], ", ")
			if len(names) > 3 {
				who += fmt.Sprintf(" and %d more", len(names)-3)
			}
		}
		path := joinPath("spec", p.fe.Path)
		msg := "for " + who + ": " + p.fe.Message
		if t := p.d.res.Targeting(); t != nil && t.HostSelector.HasFacts() {
			warnings = append(warnings, &Error{File: p.d.file, Line: lineOf(p.d.root, path), Resource: p.d.res.ID(), Field: path,
				Message: msg + " (if its facts match spec.hostSelector.matchFacts)"})
			continue
		}
		st.addErr(p.d.file, lineOf(p.d.root, path), p.d.res.ID(), path, msg)
	}
	return warnings
}
