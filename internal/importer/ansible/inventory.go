package ansible

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
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

func isYAMLInventory(name string, b []byte) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yml", ".yaml", ".json":
		return true
	case ".ini":
		return false
	}
	// Without an extension: INI starts with a section, a host or a comment.
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";") {
			continue
		}
		return l == "---" || strings.HasSuffix(l, ":")
	}
	return false
}

// parseINI reads the INI format: [group], [group:vars], [group:children]
// sections, and host lines with key=value variables.
func (inv *Inventory) parseINI(file string, b []byte) error {
	section, kind := "ungrouped", "hosts"
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		pos := Pos{file, line}
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";") {
			continue
		}
		if strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]") {
			section, kind = l[1:len(l)-1], "hosts"
			if n, k, ok := strings.Cut(section, ":"); ok {
				section, kind = n, k
			}
			if kind != "hosts" && kind != "vars" && kind != "children" {
				return fmt.Errorf("%s: unknown section kind %q: use [group], [group:vars] or [group:children]", pos, kind)
			}
			inv.group(section, pos)
			continue
		}
		switch kind {
		case "vars":
			k, v, ok := strings.Cut(l, "=")
			if !ok {
				return fmt.Errorf("%s: in [%s:vars], expected key=value, got %q", pos, section, l)
			}
			inv.group(section, pos).Vars[strings.TrimSpace(k)] = Var{Value: iniValue(strings.TrimSpace(v)), Pos: pos}
		case "children":
			inv.addChild(section, strings.Fields(l)[0], pos)
		default:
			fields, err := splitINI(l)
			if err != nil {
				return fmt.Errorf("%s: %v", pos, err)
			}
			names, err := expandRange(fields[0])
			if err != nil {
				return fmt.Errorf("%s: %v", pos, err)
			}
			for _, name := range names {
				h := inv.addHost(section, name, pos)
				for _, f := range fields[1:] {
					k, v, ok := strings.Cut(f, "=")
					if !ok {
						return fmt.Errorf("%s: host %s: expected key=value, got %q", pos, name, f)
					}
					h.Vars[k] = Var{Value: iniValue(v), Pos: pos}
				}
			}
		}
	}
	return sc.Err()
}

// splitINI splits a host line at blanks outside quotes, removing the quotes.
func splitINI(l string) ([]string, error) {
	var out []string
	var cur strings.Builder
	var quote rune
	in := false
scan:
	for _, c := range l {
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(c)
		case c == '"' || c == '\'':
			quote, in = c, true
		case c == '#' && !in:
			break scan // a comment starts where a field could
		case c == ' ' || c == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", l)
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}

// iniValue reads a value as Ansible does: a number or a boolean when it
// reads as one, a string otherwise.
func iniValue(v string) any {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	if i, err := strconv.Atoi(v); err == nil {
		return i
	}
	switch v {
	case "True", "true", "yes":
		return true
	case "False", "false", "no":
		return false
	}
	return v
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

// parseYAML reads the YAML format: groups with hosts, vars and children,
// all of it under all: or top-level groups.
func (inv *Inventory) parseYAML(file string, b []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%s: %v", file, err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: an inventory is a mapping of groups", file, root.Line)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if err := inv.yamlGroup(file, root.Content[i].Value, root.Content[i+1], ""); err != nil {
			return err
		}
	}
	return nil
}

func (inv *Inventory) yamlGroup(file, name string, n *yaml.Node, parent string) error {
	pos := Pos{file, n.Line}
	g := inv.group(name, pos)
	if parent != "" {
		inv.addChild(parent, name, pos)
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("%s: group %s must be a mapping of hosts, vars and children", pos, name)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		switch key.Value {
		case "hosts":
			if val.Kind != yaml.MappingNode {
				if val.Tag == "!!null" {
					continue
				}
				return fmt.Errorf("%s:%d: hosts of %s must be a mapping of host names", file, val.Line, name)
			}
			for j := 0; j+1 < len(val.Content); j += 2 {
				hn, hv := val.Content[j], val.Content[j+1]
				names, err := expandRange(hn.Value)
				if err != nil {
					return fmt.Errorf("%s:%d: %v", file, hn.Line, err)
				}
				for _, hname := range names {
					h := inv.addHost(name, hname, Pos{file, hn.Line})
					if err := yamlVars(file, hv, h.Vars); err != nil {
						return err
					}
				}
			}
		case "vars":
			if err := yamlVars(file, val, g.Vars); err != nil {
				return err
			}
		case "children":
			if val.Kind != yaml.MappingNode {
				if val.Tag == "!!null" {
					continue
				}
				return fmt.Errorf("%s:%d: children of %s must be a mapping of groups", file, val.Line, name)
			}
			for j := 0; j+1 < len(val.Content); j += 2 {
				if err := inv.yamlGroup(file, val.Content[j].Value, val.Content[j+1], name); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("%s:%d: group %s: unknown key %q (hosts, vars or children)", file, key.Line, name, key.Value)
		}
	}
	return nil
}

// yamlVars adds the variables of mapping n to vars; a value tagged !vault
// is recorded as a vault secret, never decoded.
func yamlVars(file string, n *yaml.Node, vars Vars) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: variables must be a mapping", file, n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		pos := Pos{file, k.Line}
		if v.Tag == "!vault" {
			vars[k.Value] = Var{Pos: pos, Vault: true}
			continue
		}
		var val any
		if err := v.Decode(&val); err != nil {
			return fmt.Errorf("%s: %s: %v", pos, k.Value, err)
		}
		vars[k.Value] = Var{Value: val, Pos: pos}
	}
	return nil
}

// loadVarsDir reads DIR/NAME.yml (or .yaml, .json, no extension) and every
// file of DIR/NAME/, in name order, into vars. A file encrypted whole with
// ansible-vault makes every variable it may hold unknown: it is recorded as
// one vault entry named after the file.
func loadVarsDir(dir, name string, vars Vars) error {
	var files []string
	for _, ext := range []string{"", ".yml", ".yaml", ".json"} {
		p := filepath.Join(dir, name+ext)
		if info, err := os.Stat(p); err == nil {
			if info.IsDir() {
				entries, err := os.ReadDir(p)
				if err != nil {
					return err
				}
				for _, e := range entries {
					if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
						files = append(files, filepath.Join(p, e.Name()))
					}
				}
			} else {
				files = append(files, p)
			}
		}
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if strings.HasPrefix(string(b), "$ANSIBLE_VAULT;") {
			vars["(vault file "+filepath.Base(f)+")"] = Var{Pos: Pos{f, 1}, Vault: true}
			continue
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return fmt.Errorf("%s: %v", f, err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		if err := yamlVars(f, doc.Content[0], vars); err != nil {
			return err
		}
	}
	return nil
}

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
