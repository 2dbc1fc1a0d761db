package manifest

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

var secretSourceType = reflect.TypeFor[v1alpha1.SecretSource]()

// CheckSecrets resolves every secret the resources name (environment
// variables, files) without showing any of them, and reports each one that
// cannot be read. Commands that act call it before touching a host, so a
// missing secret is bad input that changes nothing, not a failure halfway
// through. validate does not: manifests are often checked where the
// secrets are not.
func (s *Set) CheckSecrets() error {
	var errs ErrorList
	for _, r := range s.Resources {
		walkSecrets(reflect.ValueOf(r.Spec), "spec", func(path string, src *v1alpha1.SecretSource) {
			v, err := src.Resolve()
			if err != nil {
				errs = append(errs, &Error{File: displayName(r.Origin.File), Line: r.Origin.Line, Resource: r.ID(), Field: path,
					Message: err.Error() + " (a secret source must be readable where optimus runs)"})
				return
			}
			if c, ok := r.Spec.(v1alpha1.SecretChecker); ok {
				if err := c.CheckSecret(strings.TrimPrefix(path, "spec."), v); err != nil {
					errs = append(errs, &Error{File: displayName(r.Origin.File), Line: r.Origin.Line, Resource: r.ID(), Field: path,
						Message: "the secret " + err.Error()})
				}
			}
		})
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func displayName(file string) string {
	if file == "-" {
		return StdinName
	}
	return file
}

// walkSecrets calls fn for every non-nil *SecretSource below v, with its
// JSON path.
func walkSecrets(v reflect.Value, path string, fn func(string, *v1alpha1.SecretSource)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return
		}
		if v.Kind() == reflect.Pointer && v.Type().Elem() == secretSourceType {
			fn(path, v.Interface().(*v1alpha1.SecretSource))
			return
		}
		walkSecrets(v.Elem(), path, fn)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			p := path
			if !f.Anonymous && name != "" && name != "-" {
				p += "." + name
			} else if !f.Anonymous {
				p += "." + f.Name
			}
			walkSecrets(v.Field(i), p, fn)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkSecrets(v.Index(i), path+"["+strconv.Itoa(i)+"]", fn)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			walkSecrets(iter.Value(), path+"["+iter.Key().String()+"]", fn)
		}
	}
}
