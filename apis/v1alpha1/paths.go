package v1alpha1

import (
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// A spec declares which of its string fields name files on the machine
// running optimus with the struct tag optimus:"path": the loader resolves
// them relative to the manifest file ("~/" is the user's home). Adding
// "input", as in optimus:"path,input", also says that the file's content is
// part of the desired state: the loader requires it to be readable, and the
// controller re-applies a host when it changes.
//
//	Template string `json:"template" optimus:"path,input"`
const pathTag = "optimus"

// PathField is a string field of a struct type tagged optimus:"path".
type PathField struct {
	// Index locates the field for reflect.Value.FieldByIndex.
	Index []int
	// Name is the field's JSON name.
	Name string
	// Input says the file's content is part of the desired state.
	Input bool
}

var pathFieldCache sync.Map // reflect.Type -> []PathField

// PathFields lists the fields that struct type t itself declares (not those
// of structs it embeds or holds) that name local files. It is computed once
// per type.
func PathFields(t reflect.Type) []PathField {
	if f, ok := pathFieldCache.Load(t); ok {
		return f.([]PathField)
	}
	var out []PathField
	if t.Kind() == reflect.Struct {
		out = collectPathFields(t)
	}
	pathFieldCache.Store(t, out)
	return out
}

func collectPathFields(t reflect.Type) []PathField {
	var out []PathField
	for i := range t.NumField() {
		sf := t.Field(i)
		opts := strings.Split(sf.Tag.Get(pathTag), ",")
		if opts[0] != "path" || sf.Type.Kind() != reflect.String || !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" {
			name = sf.Name
		}
		out = append(out, PathField{Index: []int{i}, Name: name, Input: len(opts) > 1 && opts[1] == "input"})
	}
	return out
}

// WalkPaths calls fn with every non-empty string field tagged
// optimus:"path" reachable from spec (through pointers, structs, lists and
// maps), with its JSON path below spec ("hostKey.knownHostsFile"),
// so that fn may rewrite it. Values held in interfaces (free-form vars) are
// not searched: they have no tags.
func WalkPaths(spec any, fn func(p *string, f PathField, path string)) {
	walkPaths(reflect.ValueOf(spec), "", fn)
}

func walkPaths(v reflect.Value, at string, fn func(*string, PathField, string)) {
	if !v.IsValid() || !mayHoldPaths(v.Type()) {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkPaths(v.Elem(), at, fn)
		}
	case reflect.Struct:
		for _, f := range PathFields(v.Type()) {
			if p := v.Field(f.Index[0]).Addr().Interface().(*string); *p != "" {
				fn(p, f, joinJSON(at, f.Name))
			}
		}
		for _, f := range walkedFields(v.Type()) {
			if f.inline {
				walkPaths(v.Field(f.index), at, fn) // inlined, as encoding/json does
				continue
			}
			walkPaths(v.Field(f.index), joinJSON(at, f.name), fn)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkPaths(v.Index(i), at+"["+strconv.Itoa(i)+"]", fn)
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return
		}
		iter := v.MapRange()
		for iter.Next() {
			// Map elements cannot be addressed: walk a copy, store it back.
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(iter.Value())
			walkPaths(e, at+"["+iter.Key().String()+"]", fn)
			if e.Kind() == reflect.Struct || e.Kind() == reflect.Array {
				v.SetMapIndex(iter.Key(), e)
			}
		}
	}
}

// walkedField is a field a walk descends into: exported, not json:"-",
// and of a type that may hold paths.
type walkedField struct {
	index  int
	name   string // JSON name
	inline bool   // embedded without a JSON name
}

var walkedFieldsCache sync.Map // reflect.Type -> []walkedField

// walkedFields lists the fields of struct type t a walk descends into,
// once per type: reading struct tags on every visit was most of a walk's
// cost, and a controller walks every resource of the fleet on each load.
func walkedFields(t reflect.Type) []walkedField {
	if f, ok := walkedFieldsCache.Load(t); ok {
		return f.([]walkedField)
	}
	var out []walkedField
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() || !mayHoldPaths(sf.Type) {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		switch {
		case name == "-":
			continue
		case sf.Anonymous && name == "":
			out = append(out, walkedField{index: i, inline: true})
			continue
		case name == "":
			name = sf.Name
		}
		out = append(out, walkedField{index: i, name: name})
	}
	walkedFieldsCache.Store(t, out)
	return out
}

var mayHoldPathsCache sync.Map // reflect.Type -> bool

// mayHoldPaths reports whether a value of type t can hold a field tagged
// optimus:"path", so that walks skip labels, vars and other plain data.
func mayHoldPaths(t reflect.Type) bool {
	if b, ok := mayHoldPathsCache.Load(t); ok {
		return b.(bool)
	}
	b := typeHoldsPaths(t, map[reflect.Type]bool{})
	mayHoldPathsCache.Store(t, b)
	return b
}

func typeHoldsPaths(t reflect.Type, visiting map[reflect.Type]bool) bool {
	if visiting[t] {
		return false // a recursive type: the first visit answers
	}
	visiting[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return typeHoldsPaths(t.Elem(), visiting)
	case reflect.Struct:
		if len(PathFields(t)) > 0 {
			return true
		}
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && typeHoldsPaths(f.Type, visiting) {
				return true
			}
		}
	}
	return false
}

func joinJSON(at, name string) string {
	if at == "" {
		return name
	}
	return at + "." + name
}

// FileInputs returns the local files whose content is part of a spec's
// desired state (fields tagged optimus:"path,input"), as the loader
// resolved them, in field order.
func FileInputs(spec any) []string {
	var out []string
	WalkPaths(spec, func(p *string, f PathField, _ string) {
		if f.Input {
			out = append(out, *p)
		}
	})
	return out
}
