package manifest

import (
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// forEach loads a document with a top-level forEach once per item of its
// list, with ${item} (a plain item) or ${item.KEY} (an item that is a
// mapping) replaced in every string of the document, so that near-identical
// resources are written once. Each stamped resource needs a name of its
// own, so metadata.name must use the item. It reports whether the document
// had a forEach; its errors name the item.
func (st *load) forEach(file, origin, dir string, root *yaml.Node) bool {
	at := -1
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "forEach" {
			at = i
		}
	}
	if at < 0 {
		return false
	}
	key, list := root.Content[at], root.Content[at+1]
	if list.Kind == yaml.AliasNode && list.Alias != nil {
		list = list.Alias
	}
	if list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
		st.addErr(file, key.Line, "", "forEach", "must be a non-empty list of values (forEach: [a, b]) or of mappings (forEach: [{name: a, port: 1}]), not "+describe(list))
		return true
	}
	if name, found := nameNode(root); !found || !references(name, "item", nil) {
		line := key.Line
		if found {
			line = name.Line
		}
		st.addErr(file, line, "", "metadata.name", "with forEach, each resource needs its own name: use the item in it (name: disable-${item}, or ${item.KEY} for mappings)")
		return true
	}
	if size := countNodes(root, maxNodes+1); size > maxNodes || size*len(list.Content) > 10*maxNodes {
		st.addErr(file, key.Line, "", "forEach", fmt.Sprintf("%d items of a document of %d nodes are too many to stamp out (check for recursive aliases); split the list", len(list.Content), size))
		return true
	}
	for i, item := range list.Content {
		if item.Kind == yaml.AliasNode && item.Alias != nil {
			item = item.Alias
		}
		doc := copyNode(root)
		doc.Content = append(doc.Content[:at:at], doc.Content[at+2:]...)
		label := fmt.Sprintf("forEach[%d] %s: ", i, itemLabel(item))
		ns := map[string]lookupFunc{"item": func(name string) (string, bool, error) { return itemValue(item, name) }}
		ok := true
		walkScalars(doc, "", nil, func(s *yaml.Node, path string) {
			out, err := substitute(s.Value, ns)
			if err != nil {
				st.addErr(file, s.Line, "", path, label+err.Error())
				ok = false
				return
			}
			s.Value = out
		})
		if !ok {
			continue
		}
		before := len(st.errs)
		st.document(file, origin, dir, doc)
		for _, e := range st.errs[before:] {
			e.Message = label + e.Message
		}
	}
	return true
}

// nameNode finds metadata.name below a document's root.
func nameNode(root *yaml.Node) (*yaml.Node, bool) {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if md := root.Content[i+1]; root.Content[i].Value == "metadata" && md.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(md.Content); j += 2 {
				if md.Content[j].Value == "name" && md.Content[j+1].Kind == yaml.ScalarNode {
					return md.Content[j+1], true
				}
			}
		}
	}
	return nil, false
}

// itemValue is what ${item} (name "") or ${item.name} stands for.
func itemValue(item *yaml.Node, name string) (string, bool, error) {
	switch {
	case item.Kind == yaml.ScalarNode && name == "":
		return item.Value, true, nil
	case item.Kind == yaml.ScalarNode:
		return "", false, fmt.Errorf("the item %q is a value, not a mapping: write ${item}", item.Value)
	case item.Kind != yaml.MappingNode:
		return "", false, fmt.Errorf("items must be values or mappings, not %s", describe(item))
	case name == "":
		return "", false, fmt.Errorf("the item is a mapping: name one of its keys, ${item.KEY}")
	}
	for i := 0; i+1 < len(item.Content); i += 2 {
		if item.Content[i].Value != name {
			continue
		}
		if v := item.Content[i+1]; v.Kind == yaml.ScalarNode {
			return v.Value, true, nil
		}
		return "", false, fmt.Errorf("the item's %s is %s, not a value", name, describe(item.Content[i+1]))
	}
	return "", false, nil
}

// itemLabel names an item in errors: its value, or its first value.
func itemLabel(item *yaml.Node) string {
	switch {
	case item.Kind == yaml.ScalarNode:
		return strconv.Quote(item.Value)
	case item.Kind == yaml.MappingNode && len(item.Content) >= 2:
		return "{" + item.Content[0].Value + ": " + strconv.Quote(item.Content[1].Value) + ", ...}"
	}
	return "(" + describe(item) + ")"
}

// countNodes counts the nodes below n, aliases followed, stopping at limit.
func countNodes(n *yaml.Node, limit int) int {
	count := 0
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if count >= limit || depth > maxDepth {
			count = limit
			return
		}
		count++
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			walk(n.Alias, depth+1)
		}
		for _, c := range n.Content {
			walk(c, depth+1)
		}
	}
	walk(n, 0)
	return count
}
