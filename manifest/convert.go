package manifest

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	// cryptHashRe recognises crypt(3) hashes: MD5, SHA-256, SHA-512, yescrypt, bcrypt.
	cryptHashRe = regexp.MustCompile(`^\$(1|5|6|y|2[aby])\$[./A-Za-z0-9=$]{8,}$`)
)

// Limits that keep a hostile document (alias bombs, deep nesting) from
// exhausting memory or the stack.
const (
	maxNodes = 100000
	maxDepth = 200
)

// converter turns a YAML node tree into a JSON-compatible value while checking
// it against a Go type, so that unknown fields and wrong types are all found
// at once, each with the line of the offending node. The value it returns is
// then decoded with encoding/json.
type converter struct {
	report  func(n *yaml.Node, path, msg string)
	visited int
	depth   int
	failed  bool // a limit was hit; stop reporting
}

func (c *converter) fail(n *yaml.Node, path, msg string) {
	if !c.failed {
		c.report(n, path, msg)
	}
}

// convert checks n against t (nil or an interface type: anything goes) and
// returns its JSON-compatible value; ok is false when a problem was reported.
func (c *converter) convert(n *yaml.Node, t reflect.Type, path string) (v any, ok bool) {
	c.visited++
	c.depth++
	defer func() { c.depth-- }()
	if c.visited > maxNodes || c.depth > maxDepth {
		c.fail(n, path, "document is too large or too deeply nested (check for recursive aliases)")
		c.failed = true
		return nil, false
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			c.fail(n, path, "unknown alias")
			return nil, false
		}
		return c.convert(n.Alias, t, path)
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil, true
		}
		return c.convert(n.Content[0], t, path)
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil, true // as in JSON: null leaves the zero value
	}
	if t == nil || t.Kind() == reflect.Interface {
		return c.generic(n, path)
	}
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(jsonUnmarshalerType) {
		return c.custom(n, t, path)
	}
	switch t.Kind() {
	case reflect.Pointer:
		return c.convert(n, t.Elem(), path)
	case reflect.String:
		if !isScalar(n, "!!str", "!!timestamp", "!!binary") {
			msg := "must be a string, not " + describe(n)
			if n.Kind == yaml.ScalarNode {
				msg += fmt.Sprintf("; write it in quotes: %q", n.Value)
			}
			c.fail(n, path, msg)
			return nil, false
		}
		if !c.checkHash(n, path) {
			return nil, false
		}
		return n.Value, true
	case reflect.Bool:
		var b bool
		if !isScalar(n, "!!bool") || n.Decode(&b) != nil {
			c.fail(n, path, "must be true or false, not "+describe(n))
			return nil, false
		}
		return b, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if !isScalar(n, "!!int") || n.Decode(&i) != nil {
			c.fail(n, path, "must be an integer, not "+describe(n))
			return nil, false
		}
		if reflect.New(t).Elem().OverflowInt(i) {
			c.fail(n, path, fmt.Sprintf("%d is out of range", i))
			return nil, false
		}
		return i, true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var u uint64
		if !isScalar(n, "!!int") || n.Decode(&u) != nil {
			c.fail(n, path, "must be a non-negative integer, not "+describe(n))
			return nil, false
		}
		if reflect.New(t).Elem().OverflowUint(u) {
			c.fail(n, path, fmt.Sprintf("%d is out of range", u))
			return nil, false
		}
		return u, true
	case reflect.Float32, reflect.Float64:
		var f float64
		if !isScalar(n, "!!int", "!!float") || n.Decode(&f) != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			c.fail(n, path, "must be a finite number, not "+describe(n))
			return nil, false
		}
		return f, true
	case reflect.Struct:
		return c.object(n, t, path)
	case reflect.Map:
		return c.mapping(n, t.Elem(), path)
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			c.fail(n, path, "must be a list, not "+describe(n))
			return nil, false
		}
		out, ok := make([]any, 0, len(n.Content)), true
		for i, e := range n.Content {
			v, eok := c.convert(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
			ok = ok && eok
			out = append(out, v)
		}
		return out, ok
	}
	return c.generic(n, path)
}

// object checks a mapping against the JSON fields of a struct.
func (c *converter) object(n *yaml.Node, t reflect.Type, path string) (any, bool) {
	if n.Kind != yaml.MappingNode {
		c.fail(n, path, "must be a mapping, not "+describe(n))
		return nil, false
	}
	out, ok := map[string]any{}, true
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, vn := n.Content[i], n.Content[i+1]
		key, kok := c.key(k, path)
		if !kok {
			ok = false
			continue
		}
		fp := joinPath(path, key)
		if line, dup := seen[key]; dup {
			c.fail(k, fp, fmt.Sprintf("field set twice (first at line %d)", line))
			ok = false
			continue
		}
		seen[key] = k.Line
		if c.clearText(k, vn, fp, t) {
			ok = false
			continue
		}
		f, found := fieldByName(t, key)
		if !found {
			c.fail(k, fp, fmt.Sprintf("unknown field %q%s", key, didYouMean(key, fieldNames(t))))
			ok = false
			continue
		}
		v, vok := c.convert(vn, f.Type, fp)
		ok = ok && vok
		if v != nil {
			out[key] = v
		}
	}
	return out, ok
}

// mapping checks a YAML mapping whose values must be of type elem.
func (c *converter) mapping(n *yaml.Node, elem reflect.Type, path string) (any, bool) {
	if n.Kind != yaml.MappingNode {
		c.fail(n, path, "must be a mapping, not "+describe(n))
		return nil, false
	}
	out, ok := map[string]any{}, true
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, vn := n.Content[i], n.Content[i+1]
		key, kok := c.key(k, path)
		if !kok {
			ok = false
			continue
		}
		fp := path + "[" + key + "]"
		if line, dup := seen[key]; dup {
			c.fail(k, fp, fmt.Sprintf("key set twice (first at line %d)", line))
			ok = false
			continue
		}
		seen[key] = k.Line
		if c.clearText(k, vn, fp, nil) {
			ok = false
			continue
		}
		v, vok := c.convert(vn, elem, fp)
		ok = ok && vok
		out[key] = v
	}
	return out, ok
}

// generic converts any YAML value, still refusing what JSON cannot hold.
func (c *converter) generic(n *yaml.Node, path string) (any, bool) {
	switch n.Kind {
	case yaml.MappingNode:
		return c.mapping(n, nil, path)
	case yaml.SequenceNode:
		return c.convert(n, reflect.TypeFor[[]any](), path)
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!bool":
			return c.convert(n, reflect.TypeFor[bool](), path)
		case "!!int":
			var i int64
			if n.Decode(&i) == nil {
				return i, true
			}
			return c.convert(n, reflect.TypeFor[float64](), path)
		case "!!float":
			return c.convert(n, reflect.TypeFor[float64](), path)
		}
		if !c.checkHash(n, path) {
			return nil, false
		}
		return n.Value, true
	}
	return c.convert(n, nil, path)
}

// custom hands the value to a type's own UnmarshalJSON (Duration, for
// example) so that its message is reported.
func (c *converter) custom(n *yaml.Node, t reflect.Type, path string) (any, bool) {
	v, ok := c.generic(n, path)
	if !ok {
		return nil, false
	}
	b, err := json.Marshal(v)
	if err == nil {
		err = reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(b)
	}
	if err != nil {
		c.fail(n, path, err.Error())
		return nil, false
	}
	return v, true
}

func (c *converter) key(k *yaml.Node, path string) (string, bool) {
	if k.Kind == yaml.AliasNode && k.Alias != nil {
		k = k.Alias
	}
	switch {
	case k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge":
		c.fail(k, path, "merge keys (<<) are not supported; write the fields out")
		return "", false
	case k.Kind != yaml.ScalarNode:
		c.fail(k, path, "mapping keys must be strings, not "+describe(k))
		return "", false
	}
	return k.Value, true
}

// clearText reports a password written in the manifest instead of read from
// the environment or a file. owner is the struct holding the field, if any,
// used to suggest the right *From field.
func (c *converter) clearText(k, v *yaml.Node, path string, owner reflect.Type) bool {
	if !strings.Contains(strings.ToLower(k.Value), "password") || v.Kind != yaml.ScalarNode ||
		v.ShortTag() == "!!null" || v.Value == "" {
		return false
	}
	if strings.HasPrefix(path, "spec.env[") {
		c.fail(k, path, "clear-text password in the manifest; move it to envFrom: {"+k.Value+": {env: NAME}} (or {file: PATH}), whose values are never shown")
		return true
	}
	from := "passwordFrom"
	if owner != nil {
		for _, f := range Fields(owner) {
			if l := strings.ToLower(f.Name); strings.Contains(l, "password") && strings.HasSuffix(l, "from") {
				from = f.Name
				break
			}
		}
	}
	c.fail(k, path, fmt.Sprintf("clear-text password in the manifest; use %s: {env: NAME} or %s: {file: PATH} instead", from, from))
	return true
}

func (c *converter) checkHash(n *yaml.Node, path string) bool {
	if cryptHashRe.MatchString(strings.TrimSpace(n.Value)) {
		c.fail(n, path, "looks like a password hash written in clear; use passwordHashFrom: {env: NAME} or passwordHashFrom: {file: PATH} instead")
		return false
	}
	return true
}

func isScalar(n *yaml.Node, tags ...string) bool {
	if n.Kind != yaml.ScalarNode {
		return false
	}
	tag := n.ShortTag()
	for _, t := range tags {
		if tag == t {
			return true
		}
	}
	return false
}

// describe names what a node is, for "must be X, not Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return "the string " + strconv.Quote(n.Value)
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		case "!!null":
			return "null"
		}
		return n.Value
	}
	return "an empty value"
}

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
