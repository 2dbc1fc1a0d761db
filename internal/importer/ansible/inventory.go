package ansible

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Inventory is an Ansible inventory: groups with their hosts, children and
// variables, and each host's own variables.
type Inventory struct {
	Groups map[string]*Group
	Hosts  map[string]*InvHost
	// order keeps hosts in the order the inventory lists them.
	order []string
}

// Group is an inventory group.
type Group struct {
	Name     string
	Hosts    []string
	Children []string
	Vars     Vars
	Pos      Pos
	parents  []string
}

// InvHost is an inventory host.
type InvHost struct {
	Name string
	Vars Vars
	Pos  Pos
	// groups the host is directly in.
	groups []string
}

// Var is one variable with where it was set.
type Var struct {
	Value any
	Pos   Pos
	// Vault is set for a value encrypted with ansible-vault: it is never
	// read, only referred to.
	Vault bool
}

// Vars are variables by name.
type Vars map[string]Var

func newInventory() *Inventory {
	inv := &Inventory{Groups: map[string]*Group{}, Hosts: map[string]*InvHost{}}
	inv.group("all", Pos{})
	inv.group("ungrouped", Pos{})
	return inv
}

func (inv *Inventory) group(name string, pos Pos) *Group {
	g, ok := inv.Groups[name]
	if !ok {
		g = &Group{Name: name, Vars: Vars{}, Pos: pos}
		inv.Groups[name] = g
	}
	return g
}

func (inv *Inventory) host(name string, pos Pos) *InvHost {
	h, ok := inv.Hosts[name]
	if !ok {
		h = &InvHost{Name: name, Vars: Vars{}, Pos: pos}
		inv.Hosts[name] = h
		inv.order = append(inv.order, name)
	}
	return h
}

func (inv *Inventory) addHost(group, name string, pos Pos) *InvHost {
	h := inv.host(name, pos)
	g := inv.group(group, pos)
	if !contains(g.Hosts, name) {
		g.Hosts = append(g.Hosts, name)
		h.groups = append(h.groups, group)
	}
	return h
}

func (inv *Inventory) addChild(parent, child string, pos Pos) {
	p, c := inv.group(parent, pos), inv.group(child, pos)
	if !contains(p.Children, child) {
		p.Children = append(p.Children, child)
		c.parents = append(c.parents, parent)
	}
}

func contains(s []string, v string) bool {
	for _, e := range s {
		if e == v {
			return true
		}
	}
	return false
}

// LoadInventory reads an INI or YAML inventory file, or every inventory
// file of a directory, then the group_vars/ and host_vars/ directories
// beside it.
func LoadInventory(path string) (*Inventory, error) {
	inv := newInventory()
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	files := []string{path}
	if info.IsDir() {
		dir = path
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		files = nil
		for _, e := range entries {
			n := e.Name()
			if e.IsDir() || strings.HasPrefix(n, ".") || strings.HasSuffix(n, "~") || strings.HasSuffix(n, ".retry") {
				continue
			}
			files = append(files, filepath.Join(path, n))
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(string(b), "#!") {
			return nil, fmt.Errorf("%s is a dynamic inventory script, which is not converted: write its hosts as an INI or YAML inventory", f)
		}
		if isYAMLInventory(f, b) {
			err = inv.parseYAML(f, b)
		} else {
			err = inv.parseINI(f, b)
		}
		if err != nil {
			return nil, err
		}
	}
	for name, g := range inv.Groups {
		if err := loadVarsDir(filepath.Join(dir, "group_vars"), name, g.Vars); err != nil {
			return nil, err
		}
	}
	for name, h := range inv.Hosts {
		if err := loadVarsDir(filepath.Join(dir, "host_vars"), name, h.Vars); err != nil {
			return nil, err
		}
	}
	// ungrouped holds only the hosts no other group has.
	ug := inv.Groups["ungrouped"]
	ug.Hosts = nil
	for _, name := range inv.order {
		h := inv.Hosts[name]
		var groups []string
		for _, g := range h.groups {
			if g != "ungrouped" {
				groups = append(groups, g)
			}
		}
		if len(groups) == 0 {
			groups = []string{"ungrouped"}
			ug.Hosts = append(ug.Hosts, name)
		}
		h.groups = groups
	}
	return inv, nil
}

// maxRangeHosts bounds what one host pattern expands to, so that a typo
// (web[1:1000000000]) is an error rather than an exhausted machine.
const maxRangeHosts = 100000

var rangeRe = regexp.MustCompile(`\[([0-9]+|[a-z]):([0-9]+|[a-z])(?::([0-9]+))?\]`)

// expandRange expands web[01:20].example.com and db-[a:c]; ranges
// include their end, and numbers keep the width the start is written with.
func expandRange(pattern string) ([]string, error) {
	m := rangeRe.FindStringSubmatchIndex(pattern)
	if m == nil {
		return []string{pattern}, nil
	}
	prefix, suffix := pattern[:m[0]], pattern[m[1]:]
	from, to := pattern[m[2]:m[3]], pattern[m[4]:m[5]]
	step := 1
	if m[6] >= 0 {
		step, _ = strconv.Atoi(pattern[m[6]:m[7]])
		if step < 1 {
			return nil, fmt.Errorf("host range %q: the step must be at least 1", pattern)
		}
	}
	rest, err := expandRange(suffix)
	if err != nil {
		return nil, err
	}
	var items []string
	if a, errA := strconv.Atoi(from); errA == nil {
		b, errB := strconv.Atoi(to)
		if errB != nil || b < a {
			return nil, fmt.Errorf("host range %q: %s:%s is not an ascending range", pattern, from, to)
		}
		width := 0
		if len(from) > 1 && from[0] == '0' {
			width = len(from)
		}
		if (b-a)/step >= maxRangeHosts {
			return nil, fmt.Errorf("host range %q expands to more than %d hosts", pattern, maxRangeHosts)
		}
		for i := a; i <= b; i += step {
			items = append(items, fmt.Sprintf("%0*d", width, i))
		}
	} else {
		if len(to) != 1 || to[0] < from[0] {
			return nil, fmt.Errorf("host range %q: %s:%s is not an ascending range", pattern, from, to)
		}
		for c := from[0]; c <= to[0]; c += byte(step) {
			items = append(items, string(c))
		}
	}
	if len(items)*len(rest) > maxRangeHosts {
		return nil, fmt.Errorf("host range %q expands to more than %d hosts", pattern, maxRangeHosts)
	}
	var out []string
	for _, it := range items {
		for _, r := range rest {
			out = append(out, prefix+it+r)
		}
	}
	return out, nil
}
