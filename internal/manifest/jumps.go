package manifest

import (
	"fmt"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// checkJumps links every Host's spec.jump.host to the Host it names, and
// reports a name that is no Host of the set and a cycle of jumps (a bastion
// that would have to be reached through itself).
func (st *load) checkJumps() {
	hosts := map[string]*loaded{}
	var names []string
	for _, d := range st.docs {
		if _, ok := d.res.Spec.(*v1alpha1.HostSpec); ok {
			hosts[d.res.Metadata.Name] = d
			names = append(names, d.res.Metadata.Name)
		}
	}
	next := func(d *loaded) string {
		j := d.res.Spec.(*v1alpha1.HostSpec).Jump
		if j == nil {
			return ""
		}
		return j.Host
	}
	for _, d := range st.docs {
		// Not a Host, or a duplicate name (reported as such).
		if hosts[d.res.Metadata.Name] != d {
			continue
		}
		name := next(d)
		if name == "" {
			continue
		}
		b, ok := hosts[name]
		if !ok {
			msg := fmt.Sprintf("Host/%s does not exist in the manifests", name)
			if s := suggest(name, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			st.addErr(d.file, lineOf(d.root, "spec.jump.host"), d.res.ID(), "spec.jump.host", msg)
			continue
		}
		h, _ := b.res.AsHost()
		d.res.Spec.(*v1alpha1.HostSpec).Jump.SetBastion(h)
	}
	// A cycle is reported once, at the first of its Hosts in load order.
	reported := map[string]bool{}
	for _, d := range st.docs {
		start := d.res.Metadata.Name
		if hosts[start] != d || reported[start] {
			continue
		}
		path := []string{start}
		seen := map[string]bool{start: true}
		for cur := d; ; {
			n := next(cur)
			nd, ok := hosts[n]
			if n == "" || !ok {
				break
			}
			path = append(path, n)
			if n == start {
				for _, p := range path {
					reported[p] = true
				}
				st.addErr(d.file, lineOf(d.root, "spec.jump.host"), d.res.ID(), "spec.jump.host",
					"jump cycle: "+strings.Join(path, " -> ")+": a bastion cannot be reached through itself")
				break
			}
			if seen[n] {
				break // a cycle further down the chain, reported at its own first Host
			}
			seen[n] = true
			cur = nd
		}
	}
}
