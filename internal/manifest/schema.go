package manifest

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// SchemaID identifies the JSON Schema that JSONSchema produces.
const SchemaID = "https://optimus.dev/schemas/manifest.json"

var durationType = reflect.TypeFor[v1alpha1.Duration]()

// JSONSchema returns a JSON Schema (draft 2020-12) of one manifest document
// of any kind of the scheme, for editors and YAML language servers. It checks
// what a schema can express (types, required fields, enums, ranges, unknown
// fields); the loader remains the authority.
func JSONSchema(s *v1alpha1.Scheme) ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}}
	var kinds, versions []any
	var branches []any
	seenVersion := map[string]bool{}
	for _, k := range s.Kinds() {
		kinds = append(kinds, k.Kind)
		if !seenVersion[k.APIVersion] {
			seenVersion[k.APIVersion] = true
			versions = append(versions, k.APIVersion)
		}
		specType := reflect.TypeOf(k.NewSpec()).Elem()
		g.defs[k.Kind] = map[string]any{
			"type":        "object",
			"description": k.Description,
			"properties": map[string]any{
				"apiVersion": map[string]any{"const": k.APIVersion, "description": v1alpha1.Doc("TypeMeta", "apiVersion")},
				"kind":       map[string]any{"const": k.Kind, "description": v1alpha1.Doc("TypeMeta", "kind")},
				"metadata":   g.ref(reflect.TypeFor[v1alpha1.ObjectMeta](), v1alpha1.Doc("Resource", "metadata")),
				"spec":       g.ref(specType, v1alpha1.Doc("Resource", "spec")),
				"forEach": map[string]any{"type": "array", "minItems": 1,
					"items":       map[string]any{"type": []string{"string", "number", "boolean", "object"}},
					"description": "Stamps out one resource per item: ${item} (or ${item.KEY} for a mapping) is replaced in every string of the document; metadata.name must use it."},
			},
			"required":             []string{"apiVersion", "kind", "metadata"},
			"additionalProperties": false,
		}
		branches = append(branches, map[string]any{
			"if":   map[string]any{"properties": map[string]any{"kind": map[string]any{"const": k.Kind}}, "required": []string{"kind"}},
			"then": map[string]any{"$ref": "#/$defs/" + k.Kind},
		})
	}
	doc := map[string]any{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"$id":         SchemaID,
		"title":       "Optimus manifest",
		"description": "One document of an Optimus manifest: apiVersion, kind, metadata and spec.",
		"type":        "object",
		"properties": map[string]any{
			"apiVersion": map[string]any{"enum": versions},
			"kind":       map[string]any{"enum": kinds},
		},
		"required": []string{"apiVersion", "kind", "metadata"},
		"allOf":    branches,
		"$defs":    g.defs,
	}
	return json.MarshalIndent(doc, "", "  ")
}

// schemaGen is written here rather than taken from a generator such as
// github.com/invopop/jsonschema because the schema must say what the loader
// accepts: it walks the fields the loader decodes (Fields: inlining, json
// names) and turns the same validate tags the loader checks (oneof, min, max,
// required, the patterns of v1alpha1's rules) into keywords. A generator
// reflects with its own field rules and reads constraints only from its own
// jsonschema tags, so it would need every rule written twice on every type,
// custom kinds' included, and could then drift from the loader.
type schemaGen struct {
	defs map[string]any
}

// ref returns a reference to the definition of a named struct type, adding
// the definition the first time.
func (g *schemaGen) ref(t reflect.Type, desc string) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	name := t.Name()
	if _, ok := g.defs[name]; !ok {
		g.defs[name] = nil // reserve: types may refer to themselves
		g.defs[name] = g.object(t)
	}
	out := map[string]any{"$ref": "#/$defs/" + name}
	if desc != "" {
		out["description"] = desc
	}
	return out
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	for _, f := range Fields(t) {
		props[f.Name] = g.field(f.Type, f.Validate, docOf(f.Owner, f.Name))
		if f.Required() {
			required = append(required, f.Name)
		}
	}
	out := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if d := docOf(t, ""); d != "" {
		out["description"] = d
	}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

func docOf(t reflect.Type, field string) string {
	if t.PkgPath() == reflect.TypeFor[v1alpha1.Resource]().PkgPath() {
		return v1alpha1.Doc(t.Name(), field)
	}
	// A custom kind's spec documents itself through v1alpha1.Documented,
	// usually with the map gen/docs generates from its doc comments.
	if d, ok := reflect.New(t).Interface().(v1alpha1.Documented); ok {
		key := t.Name()
		if field != "" {
			key += "." + field
		}
		return d.FieldDocs()[key]
	}
	return ""
}

var schemaProviderType = reflect.TypeFor[v1alpha1.SchemaProvider]()

// field is the schema of a value of type t constrained by a validate tag.
func (g *schemaGen) field(t reflect.Type, tag, desc string) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	own, elem, _ := strings.Cut(tag, ",dive")
	if strings.HasPrefix(tag, "dive") {
		own, elem = "", strings.TrimPrefix(tag, "dive")
	}
	elem = strings.TrimPrefix(elem, ",")
	var s map[string]any
	switch {
	case t == durationType:
		s = map[string]any{"type": "string", "pattern": v1alpha1.DurationPattern}
	case reflect.PointerTo(t).Implements(schemaProviderType):
		s = reflect.New(t).Interface().(v1alpha1.SchemaProvider).JSONSchema()
	case t.Kind() == reflect.Struct && reflect.PointerTo(t).Implements(jsonUnmarshalerType):
		s = map[string]any{}
	case t.Kind() == reflect.Struct:
		s = g.ref(t, "")
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		s = map[string]any{"type": "array", "items": g.field(t.Elem(), elem, "")}
	case t.Kind() == reflect.Map:
		s = map[string]any{"type": "object"}
		keys, vals := "", elem
		if strings.HasPrefix(elem, "keys,") {
			keys, vals, _ = strings.Cut(strings.TrimPrefix(elem, "keys,"), ",endkeys")
			vals = strings.TrimPrefix(vals, ",")
		}
		if keys != "" {
			s["propertyNames"] = g.field(t.Key(), keys, "")
		}
		s["additionalProperties"] = g.field(t.Elem(), vals, "")
	case t.Kind() == reflect.String:
		s = map[string]any{"type": "string"}
	case t.Kind() == reflect.Bool:
		s = map[string]any{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		s = map[string]any{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		s = map[string]any{"type": "number"}
	default:
		s = map[string]any{}
	}
	applyTags(s, t, own)
	s = allowSubstitution(s)
	if desc != "" {
		if _, isRef := s["$ref"]; isRef {
			s = map[string]any{"$ref": s["$ref"], "description": desc}
		} else {
			s["description"] = desc
		}
	}
	return s
}

// substitutionPattern matches a string that holds ${vars.NAME} or ${item}:
// its value is known per host or per item only, and the loader checks it
// then.
const substitutionPattern = `\$\{(vars\.|item[.}])`

// allowSubstitution lets a constrained string (a pattern, a list of
// values) be a substitution instead, so that editors do not flag what
// optimus validate accepts.
func allowSubstitution(s map[string]any) map[string]any {
	_, pattern := s["pattern"]
	_, enum := s["enum"]
	if s["type"] != "string" || (!pattern && !enum) {
		return s
	}
	return map[string]any{"anyOf": []any{s, map[string]any{"type": "string", "pattern": substitutionPattern}}}
}

// applyTags maps the validator rules that JSON Schema can express.
func applyTags(s map[string]any, t reflect.Type, tag string) {
	for _, rule := range strings.Split(tag, ",") {
		name, param, _ := strings.Cut(rule, "=")
		n, numErr := strconv.ParseFloat(param, 64)
		switch {
		case name == "oneof":
			var enum []any
			for _, v := range strings.Fields(param) {
				enum = append(enum, v)
			}
			s["enum"] = enum
		case (name == "min" || name == "max") && numErr == nil:
			key := map[string]string{"min": "minimum", "max": "maximum"}[name]
			switch t.Kind() {
			case reflect.String:
				key = map[string]string{"min": "minLength", "max": "maxLength"}[name]
			case reflect.Slice, reflect.Array:
				key = map[string]string{"min": "minItems", "max": "maxItems"}[name]
			case reflect.Map:
				key = map[string]string{"min": "minProperties", "max": "maxProperties"}[name]
			}
			s[key] = n
		case name == "required" && t.Kind() == reflect.String:
			s["minLength"] = 1
		default:
			// The validator's own rule, so that loading and editors agree.
			if r, ok := v1alpha1.LookupRule(name); ok && r.Pattern != "" {
				s["pattern"] = r.Pattern
			}
		}
	}
}
