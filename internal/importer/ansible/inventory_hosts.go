package ansible

import (
	"sort"
)

// depth is a group's distance from all, which orders variable precedence:
// a child group's variables win over its parent's.
func (inv *Inventory) depth(name string, seen map[string]bool) int {
	if name == "all" || seen[name] {
		return 0
	}
	seen[name] = true
	g := inv.Groups[name]
	d := 0
	for _, p := range g.parents {
		d = max(d, inv.depth(p, seen)+1)
	}
	if len(g.parents) == 0 {
		d = 1
	}
	delete(seen, name)
	return d
}

// GroupsOf lists every group a host is in, its groups' ancestors included
// and all excluded, sorted.
func (inv *Inventory) GroupsOf(host string) []string {
	set := map[string]bool{}
	var walk func(string)
	walk = func(g string) {
		if set[g] {
			return
		}
		set[g] = true
		for _, p := range inv.Groups[g].parents {
			walk(p)
		}
	}
	for _, g := range inv.Hosts[host].groups {
		walk(g)
	}
	delete(set, "all")
	out := make([]string, 0, len(set))
	for g := range set {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

// VarsOf merges a host's variables as Ansible does: all, then its groups
// from parent to child (siblings by name), then the host's own.
func (inv *Inventory) VarsOf(host string) Vars {
	groups := inv.GroupsOf(host)
	sort.SliceStable(groups, func(i, j int) bool {
		di, dj := inv.depth(groups[i], map[string]bool{}), inv.depth(groups[j], map[string]bool{})
		if di != dj {
			return di < dj
		}
		return groups[i] < groups[j]
	})
	out := Vars{}
	for _, g := range append([]string{"all"}, groups...) {
		for k, v := range inv.Groups[g].Vars {
			out[k] = v
		}
	}
	for k, v := range inv.Hosts[host].Vars {
		out[k] = v
	}
	return out
}

// HostNames lists the hosts in inventory order.
func (inv *Inventory) HostNames() []string { return append([]string(nil), inv.order...) }
