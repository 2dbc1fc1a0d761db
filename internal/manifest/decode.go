package manifest

import (
	"encoding"
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
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	// cryptHashRe recognises crypt(3) hashes: MD5, SHA-256, SHA-512, yescrypt, bcrypt.
	cryptHashRe = regexp.MustCompile(`^\$(1|5|6|y|2[aby])\$[./A-Za-z0-9=$]{8,}$`)
)

// Limits that keep a hostile document (alias bombs, deep nesting) from
// exhausting memory or the stack.
const (
	maxNodes = 100000
	maxDepth = 200
)

// converter fills Go values from a YAML node tree in one pass, checking each
// node against the Go type it goes into, so that unknown fields and wrong
// types are all found at once, each at the line of the offending node. Field
// names and types follow the json tags, as for every other reader of specs.
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

// decode sets v, which must be settable, from n; ok is false when a problem
// was reported. A null leaves v as it is, as it does in JSON.
func (c *converter) decode(n *yaml.Node, v reflect.Value, path string) (ok bool) {
	c.visited++
	c.depth++
	defer func() { c.depth-- }()
	if c.visited > maxNodes || c.depth > maxDepth {
		c.fail(n, path, "document is too large or too deeply nested (check for recursive aliases)")
		c.failed = true
		return false
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			c.fail(n, path, "unknown alias")
			return false
		}
		return c.decode(n.Alias, v, path)
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return true
		}
		return c.decode(n.Content[0], v, path)
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return true
	}
	t := v.Type()
	if t.Kind() == reflect.Interface {
		if t.NumMethod() > 0 {
			c.fail(n, path, "cannot be set from a manifest (the Go field is an interface with methods)")
			return false
		}
		val, ok := c.generic(n, path)
		if ok && val != nil {
			v.Set(reflect.ValueOf(val))
		}
		return ok
	}
	if t.Kind() != reflect.Pointer {
		if pt := reflect.PointerTo(t); pt.Implements(jsonUnmarshalerType) {
			return c.custom(n, v, path)
		} else if pt.Implements(textUnmarshalerType) && n.Kind == yaml.ScalarNode {
			if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
				c.fail(n, path, err.Error())
				return false
			}
			return true
		}
	}
	if k := t.Kind(); k >= reflect.Bool && k <= reflect.Float64 && n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${vars.") {
		c.fail(n, path, "variables (${vars.NAME}) stand in text fields only: write the value itself here, or select hosts per value with matchVarExpressions")
		return false
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return c.decode(n, v.Elem(), path)
	case reflect.String:
		if !isScalar(n, "!!str", "!!timestamp", "!!binary") {
			msg := "must be a string, not " + describe(n)
			if n.Kind == yaml.ScalarNode {
				msg += fmt.Sprintf("; write it in quotes: %q", n.Value)
			}
			c.fail(n, path, msg)
			return false
		}
		if !c.checkHash(n, path) {
			return false
		}
		v.SetString(n.Value)
		return true
	case reflect.Bool:
		var b bool
		if !isScalar(n, "!!bool") || n.Decode(&b) != nil {
			c.fail(n, path, "must be true or false, not "+describe(n))
			return false
		}
		v.SetBool(b)
		return true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if !isScalar(n, "!!int") || n.Decode(&i) != nil {
			c.fail(n, path, "must be an integer, not "+describe(n))
			return false
		}
		if v.OverflowInt(i) {
			c.fail(n, path, fmt.Sprintf("%d is out of range", i))
			return false
		}
		v.SetInt(i)
		return true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var u uint64
		if !isScalar(n, "!!int") || n.Decode(&u) != nil {
			c.fail(n, path, "must be a non-negative integer, not "+describe(n))
			return false
		}
		if v.OverflowUint(u) {
			c.fail(n, path, fmt.Sprintf("%d is out of range", u))
			return false
		}
		v.SetUint(u)
		return true
	case reflect.Float32, reflect.Float64:
		f, ok := c.float(n, path)
		if ok {
			v.SetFloat(f)
		}
		return ok
	case reflect.Struct:
		return c.object(n, v, path)
	case reflect.Map:
		return c.mapping(n, v, path)
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			c.fail(n, path, "must be a list, not "+describe(n))
			return false
		}
		if t.Kind() == reflect.Array && len(n.Content) != t.Len() {
			c.fail(n, path, fmt.Sprintf("must be a list of %d items, not %d", t.Len(), len(n.Content)))
			return false
		}
		if t.Kind() == reflect.Slice {
			v.Set(reflect.MakeSlice(t, len(n.Content), len(n.Content)))
		}
		ok := true
		for i, e := range n.Content {
			ok = c.decode(e, v.Index(i), fmt.Sprintf("%s[%d]", path, i)) && ok
		}
		return ok
	}
	c.fail(n, path, fmt.Sprintf("cannot be set from a manifest (Go type %s)", t))
	return false
}

func (c *converter) float(n *yaml.Node, path string) (float64, bool) {
	var f float64
	if !isScalar(n, "!!int", "!!float") || n.Decode(&f) != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		c.fail(n, path, "must be a finite number, not "+describe(n))
		return 0, false
	}
	return f, true
}

// object fills a struct from a mapping, by the JSON names of its fields.
func (c *converter) object(n *yaml.Node, v reflect.Value, path string) bool {
	if n.Kind != yaml.MappingNode {
		c.fail(n, path, "must be a mapping, not "+describe(n))
		return false
	}
	t := v.Type()
	ok := true
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
		ok = c.decode(vn, fieldAlloc(v, f.Index), fp) && ok
	}
	return ok
}

// fieldAlloc is v.FieldByIndex(index), allocating embedded struct pointers
// on the way.
func fieldAlloc(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

// mapping fills a map with string keys from a mapping.
func (c *converter) mapping(n *yaml.Node, v reflect.Value, path string) bool {
	if n.Kind != yaml.MappingNode {
		c.fail(n, path, "must be a mapping, not "+describe(n))
		return false
	}
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		c.fail(n, path, fmt.Sprintf("cannot be set from a manifest (Go type %s)", t))
		return false
	}
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(t, len(n.Content)/2))
	}
	ok := true
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
		e := reflect.New(t.Elem()).Elem()
		if c.decode(vn, e, fp) {
			v.SetMapIndex(reflect.ValueOf(key).Convert(t.Key()), e)
		} else {
			ok = false
		}
	}
	return ok
}

// generic reads a value of no particular type (free-form vars) as JSON
// would: maps, lists, strings, booleans and float64 numbers, still refusing
// what JSON cannot hold.
func (c *converter) generic(n *yaml.Node, path string) (any, bool) {
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		ok := c.mapping(n, reflect.ValueOf(&m).Elem(), path)
		return m, ok
	case yaml.SequenceNode:
		var l []any
		ok := c.decode(n, reflect.ValueOf(&l).Elem(), path)
		return l, ok
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, true
		case "!!bool":
			var b bool
			ok := c.decode(n, reflect.ValueOf(&b).Elem(), path)
			return b, ok
		case "!!int", "!!float":
			return c.float(n, path)
		}
		if !c.checkHash(n, path) {
			return nil, false
		}
		return n.Value, true
	}
	var out any
	return out, c.decode(n, reflect.ValueOf(&out).Elem(), path)
}

// custom hands the value to a type's own UnmarshalJSON (Duration, for
// example) so that its message is reported.
func (c *converter) custom(n *yaml.Node, v reflect.Value, path string) bool {
	val, ok := c.generic(n, path)
	if !ok {
		return false
	}
	b, err := json.Marshal(val)
	if err == nil {
		err = v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(b)
	}
	if err != nil {
		c.fail(n, path, err.Error())
		return false
	}
	return true
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
