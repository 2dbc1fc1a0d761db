package manifest

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load-time substitution: ${vars.name} (a host's variable) and ${item},
// ${item.key} (forEach). Anything else that looks like ${...}, a shell's
// ${HOME} for example, is left as written; $${vars.x} is the literal text
// ${vars.x}.

// lookupFunc returns the text of a name of its namespace ("port" for
// ${vars.port}); ok is false when nothing has that name.
type lookupFunc func(name string) (value string, ok bool, err error)

// substitute replaces every reference of the namespaces in s. The error
// names the first reference that cannot be replaced.
func substitute(s string, namespaces map[string]lookupFunc) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		ref, rest, closed := strings.Cut(s[i+2:], "}")
		ns, name, _ := strings.Cut(ref, ".")
		lookup, known := namespaces[ns]
		switch {
		case !known:
			b.WriteString(s[:i+2])
			s = s[i+2:]
			continue
		case i > 0 && s[i-1] == '$':
			// $${vars.x}: the escape stands for the literal text.
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		case !closed:
			return "", fmt.Errorf("${%s is not closed: write ${%s.NAME}", ref, ns)
		}
		b.WriteString(s[:i])
		v, ok, err := lookup(name)
		switch {
		case err != nil:
			return "", fmt.Errorf("${%s}: %w", ref, err)
		case !ok:
			return "", fmt.Errorf("${%s}: %s", ref, missingMessage(ns, name))
		}
		b.WriteString(v)
		s = rest
	}
}

func missingMessage(ns, name string) string {
	if ns == "vars" {
		if name == "" {
			return "name a variable: ${vars.NAME}"
		}
		return fmt.Sprintf("variable %q is not set; set it in the Host's spec.vars, its HostGroup, or a GroupVars that selects it, or select only hosts that set it (matchVarExpressions: [{key: %s, operator: Exists}])", name, name)
	}
	return fmt.Sprintf("the item has no key %q", name)
}

// references reports whether any scalar below n refers to a namespace
// (written "${ns." or "${ns}"), skipping the mapping keys in skip at the
// top level of n.
func references(n *yaml.Node, ns string, skip map[string]bool) bool {
	found := false
	walkScalars(n, "", skip, func(s *yaml.Node, _ string) {
		found = found || strings.Contains(s.Value, "${"+ns+".") || strings.Contains(s.Value, "${"+ns+"}")
	})
	return found
}

// walkScalars calls fn on every scalar value below n (not mapping keys) with
// its path, skipping the top-level keys in skip. Aliases are followed.
func walkScalars(n *yaml.Node, path string, skip map[string]bool, fn func(s *yaml.Node, path string)) {
	depth := 0
	var walk func(n *yaml.Node, path string, top bool)
	walk = func(n *yaml.Node, path string, top bool) {
		if depth > maxDepth {
			return
		}
		depth++
		defer func() { depth-- }()
		switch n.Kind {
		case yaml.AliasNode:
			if n.Alias != nil {
				walk(n.Alias, path, top)
			}
		case yaml.DocumentNode, yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i), false)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if top && skip[n.Content[i].Value] {
					continue
				}
				walk(n.Content[i+1], joinPath(path, n.Content[i].Value), false)
			}
		case yaml.ScalarNode:
			fn(n, path)
		}
	}
	walk(n, path, true)
}

// copyNode copies a node tree, resolving aliases into copies so that a
// substitution in one place never shows in another.
func copyNode(n *yaml.Node) *yaml.Node {
	depth, copied := 0, 0
	var cp func(n *yaml.Node) *yaml.Node
	cp = func(n *yaml.Node) *yaml.Node {
		if copied++; copied > maxNodes {
			return n // an alias bomb: decoding it reports the limit
		}
		if n.Kind == yaml.AliasNode && n.Alias != nil && depth < maxDepth {
			depth++
			defer func() { depth-- }()
			c := cp(n.Alias)
			c.Line, c.Column = n.Line, n.Column
			return c
		}
		c := *n
		c.Anchor = ""
		if len(n.Content) > 0 && depth < maxDepth {
			depth++
			c.Content = make([]*yaml.Node, len(n.Content))
			for i, e := range n.Content {
				c.Content[i] = cp(e)
			}
			depth--
		}
		return &c
	}
	return cp(n)
}
