package manifest

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// joinPath appends a field name or an index ("[1]") to a path.
func joinPath(path, sub string) string {
	switch {
	case sub == "":
		return path
	case path == "":
		return sub
	case strings.HasPrefix(sub, "["):
		return path + sub
	}
	return path + "." + sub
}

// lineOf finds the line of the node at path ("spec.groups[1]",
// "metadata.labels[role]") below root. When the path goes further than the
// document (a missing field), the line of the deepest existing parent is used.
func lineOf(root *yaml.Node, path string) int {
	line, _ := locate(root, path)
	return line
}

// locate finds the line of path below root, and whether the path exists.
func locate(root *yaml.Node, path string) (int, bool) {
	if root == nil {
		return 0, false // declared in Go: no lines
	}
	line, n := root.Line, root
	for _, tok := range splitPath(path) {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var next *yaml.Node
		switch {
		case n.Kind == yaml.SequenceNode && strings.HasPrefix(tok, "["):
			if i, err := strconv.Atoi(tok[1 : len(tok)-1]); err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
				line = next.Line
			}
		case n.Kind == yaml.MappingNode:
			key := strings.TrimSuffix(strings.TrimPrefix(tok, "["), "]")
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					next = n.Content[i+1]
					line = n.Content[i].Line
					break
				}
			}
		}
		if next == nil {
			return line, false
		}
		n = next
	}
	return line, true
}

// splitPath splits "spec.groups[1].name" into "spec", "groups", "[1]", "name".
// Bracketed keys may contain dots.
func splitPath(path string) []string {
	var toks []string
	for path != "" {
		switch {
		case path[0] == '.':
			path = path[1:]
		case path[0] == '[':
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return append(toks, path)
			}
			toks = append(toks, path[:end+1])
			path = path[end+1:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			toks = append(toks, path[:end])
			path = path[end:]
		}
	}
	return toks
}
