package manifest

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode"

	"github.com/go-playground/validator/v10"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

var newValidator = sync.OnceValue(v1alpha1.NewValidator)

// checkResource defaults a decoded resource, validates it and resolves its
// local paths, reporting each problem at its JSON path; it reports whether
// the resource is valid. written says whether the author wrote a path, as
// opposed to a default filling it in.
func checkResource(res *v1alpha1.Resource, report func(path, msg string), written func(path string) bool) bool {
	ok := true
	at := func(path, msg string) { ok = false; report(path, msg) }
	if d, isDefaulter := res.Spec.(v1alpha1.Defaulter); isDefaulter {
		d.Default(&res.Metadata)
	}
	validateStruct(&res.Metadata, "metadata", at)
	metaValid := ok
	validateStruct(res.Spec, "spec", func(path, msg string) {
		// A bad metadata.name breaks the defaults copied from it; only
		// report what the author wrote.
		if metaValid || written(path) {
			at(path, msg)
		}
	})
	// Paths first: a check may read a local file (a File's template).
	resolvePaths(res, at)
	runChecks(res.Spec, "spec", at)
	return ok
}

// validateStruct runs the validator tags of v (a pointer to a struct) and
// reports each failure at its JSON path below prefix.
func validateStruct(v any, prefix string, report func(path, msg string)) {
	err := newValidator().Struct(v)
	var verrs validator.ValidationErrors
	if err == nil {
		return
	}
	if !errors.As(err, &verrs) {
		report(prefix, err.Error())
		return
	}
	root := reflect.TypeOf(v)
	for _, fe := range verrs {
		report(joinPath(prefix, cleanNamespace(root, fe.Namespace())), tagMessage(fe))
	}
}

// cleanNamespace turns a validator namespace ("UserSpec.Targeting.dependsOn[0].kind")
// into a JSON path below the root ("dependsOn[0].kind"): the root type name
// and embedded structs, which JSON flattens, are dropped.
func cleanNamespace(root reflect.Type, ns string) string {
	_, ns, _ = strings.Cut(ns, ".")
	t := root
	var out []string
	for _, tok := range strings.Split(ns, ".") {
		name, idx, _ := strings.Cut(tok, "[")
		for t != nil && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t != nil && t.Kind() == reflect.Struct {
			if sf, ok := t.FieldByName(name); ok && sf.Anonymous && tokJSONName(sf) == "" {
				t = sf.Type
				continue
			}
			if f, ok := fieldByName(t, name); ok {
				t = f.Type
			} else {
				t = nil
			}
		} else {
			t = nil
		}
		if idx != "" {
			for range strings.Count(tok, "[") {
				for t != nil && t.Kind() == reflect.Pointer {
					t = t.Elem()
				}
				if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map) {
					t = t.Elem()
				}
			}
		}
		out = append(out, tok)
	}
	return strings.Join(out, ".")
}

func tokJSONName(sf reflect.StructField) string {
	name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
	return name
}

// tagMessage explains a failed validator tag: what is wrong and what is allowed.
func tagMessage(fe validator.FieldError) string {
	param := fe.Param()
	kind := fe.Kind()
	isNumber := kind >= reflect.Int && kind <= reflect.Float64
	isList := kind == reflect.Slice || kind == reflect.Array || kind == reflect.Map
	switch fe.Tag() {
	case "required":
		return "is required"
	case "required_if":
		f, v, _ := strings.Cut(param, " ")
		return fmt.Sprintf("is required when %s is %s", lowerFirst(f), v)
	case "required_unless":
		f, v, _ := strings.Cut(param, " ")
		return fmt.Sprintf("is required unless %s is %s", lowerFirst(f), v)
	case "required_with":
		return fmt.Sprintf("is required when %s is set", lowerFields(param))
	case "required_without":
		return fmt.Sprintf("is required when %s is not set", lowerFields(param))
	case "excluded_with":
		return fmt.Sprintf("must not be set together with %s", lowerFields(param))
	case "excluded_without":
		return fmt.Sprintf("must not be set without %s", lowerFields(param))
	case "oneof":
		return "must be one of: " + param
	case "min", "gte":
		switch {
		case isNumber:
			return "must be at least " + param
		case isList:
			return "must have at least " + param + " items"
		}
		return "must be at least " + param + " characters long"
	case "max", "lte":
		switch {
		case isNumber:
			return "must be at most " + param
		case isList:
			return "must have at most " + param + " items"
		}
		return "must be at most " + param + " characters long"
	case "len":
		return "must have a length of " + param
	case "excludes":
		return "must not contain " + readableChars(param)
	case "excludesall":
		return "must not contain any of " + readableChars(param)
	case "hostname_rfc1123|ip", "ip|hostname_rfc1123":
		return "must be a host name or an IP address"
	case "ip":
		return "must be an IP address"
	}
	if m, ok := v1alpha1.TagMessages[fe.Tag()]; ok {
		return "must be " + m
	}
	if param != "" {
		return fmt.Sprintf("fails the rule %s=%s", fe.Tag(), param)
	}
	return "fails the rule " + fe.Tag()
}

func readableChars(s string) string {
	var parts []string
	for _, r := range s {
		switch r {
		case '\n':
			parts = append(parts, "a newline")
		case '\t':
			parts = append(parts, "a tab")
		default:
			parts = append(parts, fmt.Sprintf("%q", r))
		}
	}
	return strings.Join(parts, " or ")
}

func lowerFields(param string) string {
	fs := strings.Fields(param)
	for i, f := range fs {
		fs[i] = lowerFirst(f)
	}
	return strings.Join(fs, " or ")
}

// lowerFirst maps a Go field name in a validator parameter to its JSON name:
// Command is command, and a leading acronym is lowered whole (HTTP is http,
// URLPath is urlPath).
func lowerFirst(s string) string {
	rs := []rune(s)
	for i := 0; i < len(rs) && unicode.IsUpper(rs[i]); i++ {
		if i > 0 && i+1 < len(rs) && unicode.IsLower(rs[i+1]) {
			break
		}
		rs[i] = unicode.ToLower(rs[i])
	}
	return string(rs)
}

// typeFilter says which types a walk is looking for, and remembers per
// type whether a value of it can reach one, so that walks skip labels,
// vars and other plain data: a controller walks every resource of its
// fleet on each load.
type typeFilter struct {
	match func(t reflect.Type) bool // t or *t is what the walk looks for
	cache sync.Map                  // reflect.Type -> bool
}

// reaches reports whether a value of type t is, or holds through pointers,
// structs, lists and maps, a value of a type f matches.
func (f *typeFilter) reaches(t reflect.Type) bool {
	if b, ok := f.cache.Load(t); ok {
		return b.(bool)
	}
	b := f.search(t, map[reflect.Type]bool{})
	f.cache.Store(t, b)
	return b
}

func (f *typeFilter) search(t reflect.Type, visiting map[reflect.Type]bool) bool {
	if visiting[t] {
		return false // a recursive type: the first visit answers
	}
	visiting[t] = true
	if f.match(t) || (t.Kind() != reflect.Pointer && f.match(reflect.PointerTo(t))) {
		return true
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return f.search(t.Elem(), visiting)
	case reflect.Struct:
		for _, fd := range Fields(t) {
			if f.search(fd.Type, visiting) {
				return true
			}
		}
	}
	return false
}

// walkValues calls fn for v and every struct, pointer, list and map element
// reachable from it, with its JSON path, skipping values that cannot reach
// a type filter matches. Values are addressable where Go allows it, so
// that pointer-receiver methods can be found.
func walkValues(v reflect.Value, path string, filter *typeFilter, fn func(v reflect.Value, path string)) {
	if !v.IsValid() || !filter.reaches(v.Type()) {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		fn(v, path)
		walkValues(v.Elem(), path, filter, fn)
	case reflect.Struct:
		if v.CanAddr() {
			fn(v.Addr(), path)
		} else {
			fn(v, path)
		}
		for _, f := range Fields(v.Type()) {
			fv, err := v.FieldByIndexErr(f.Index)
			if err != nil {
				continue
			}
			if f.Type.Kind() == reflect.Pointer || f.Type.Kind() == reflect.Struct ||
				f.Type.Kind() == reflect.Slice || f.Type.Kind() == reflect.Map {
				walkValues(fv, joinPath(path, f.Name), filter, fn)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkValues(v.Index(i), fmt.Sprintf("%s[%d]", path, i), filter, fn)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			if iter.Key().Kind() != reflect.String {
				continue
			}
			cp := reflect.New(v.Type().Elem()).Elem()
			cp.Set(iter.Value())
			walkValues(cp, path+"["+iter.Key().String()+"]", filter, fn)
		}
	}
}

// errorChecker is a type with a single rule, reported at its own path, such
// as LabelSelectorRequirement.
type errorChecker interface{ Check() error }

// checkers are the types with Check methods that runChecks calls.
var checkers = &typeFilter{match: func(t reflect.Type) bool {
	return t.Implements(reflect.TypeFor[v1alpha1.Checker]()) || t.Implements(reflect.TypeFor[errorChecker]())
}}

// runChecks calls the Check methods of spec and of every value inside it.
func runChecks(spec any, prefix string, report func(path, msg string)) {
	seen := map[any]bool{}
	walkValues(reflect.ValueOf(spec), prefix, checkers, func(v reflect.Value, path string) {
		if !v.CanInterface() {
			return
		}
		if v.Kind() == reflect.Pointer {
			if seen[v.Interface()] {
				return
			}
			seen[v.Interface()] = true
		}
		switch c := v.Interface().(type) {
		case v1alpha1.Checker:
			for _, fe := range c.Check() {
				report(joinPath(path, fe.Path), fe.Message)
			}
		case errorChecker:
			if err := c.Check(); err != nil {
				report(path, err.Error())
			}
		}
	})
}
