package ansible

import (
	"fmt"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

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
