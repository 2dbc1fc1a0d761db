package manifest

import (
	"reflect"
	"strings"
	"sync"
)

// Field describes one JSON field of a struct type, with the fields of
// embedded structs (such as Targeting) promoted as encoding/json does.
type Field struct {
	// Name is the JSON name.
	Name string
	// Type is the Go type of the field.
	Type reflect.Type
	// Owner is the struct type that declares the field; doc comments are
	// keyed by it.
	Owner reflect.Type
	// Index locates the field for reflect.Value.FieldByIndex.
	Index []int
	// Validate is the field's validate tag.
	Validate string
}

// Required reports whether the validate tag makes the field unconditionally required.
func (f Field) Required() bool {
	first, _, _ := strings.Cut(f.Validate, ",")
	return first == "required"
}

// Doc is the field's doc comment, for types of package v1alpha1.
func (f Field) Doc() string { return docOf(f.Owner, f.Name) }

var fieldCache sync.Map // reflect.Type -> []Field

// Fields lists the JSON fields of struct type t (a pointer is dereferenced)
// in declaration order.
func Fields(t reflect.Type) []Field {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	if f, ok := fieldCache.Load(t); ok {
		return f.([]Field)
	}
	fields := collectFields(t, nil)
	fieldCache.Store(t, fields)
	return fields
}

func collectFields(t reflect.Type, index []int) []Field {
	var out []Field
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		idx := append(append([]int(nil), index...), i)
		ft := sf.Type
		if sf.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				out = append(out, collectFields(et, idx)...)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, Field{Name: name, Type: ft, Owner: t, Index: idx, Validate: sf.Tag.Get("validate")})
	}
	return out
}

// fieldByName finds a JSON field of struct type t.
func fieldByName(t reflect.Type, name string) (Field, bool) {
	for _, f := range Fields(t) {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

func fieldNames(t reflect.Type) []string {
	var names []string
	for _, f := range Fields(t) {
		names = append(names, f.Name)
	}
	return names
}
