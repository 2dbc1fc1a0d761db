package file

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"text/template"

	"github.com/Masterminds/sprig/v3"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// unstable are the sprig functions a File template does not get: those that
// read the operator's machine (its environment, which holds secrets, and its
// resolver), and those whose result changes on every call, with which a File
// would never converge.
var unstable = []string{
	"env", "expandenv", "getHostByName",
	"now", "ago", "randAlphaNum", "randAlpha", "randAscii", "randNumeric", "randInt", "randBytes",
	"shuffle", "uuidv4", "bcrypt", "htpasswd", "encryptAES",
	"genPrivateKey", "genCA", "genCAWithKey", "genSelfSignedCert", "genSelfSignedCertWithKey",
	"genSignedCert", "genSignedCertWithKey",
}

// templateFuncs are the functions of a Go template: sprig's (semverCompare,
// default, join, upper, ...) less the unstable ones, and an index that fails
// on a missing key as .Vars.name does.
var templateFuncs = sync.OnceValue(func() template.FuncMap {
	fm := sprig.TxtFuncMap()
	for _, name := range unstable {
		delete(fm, name)
	}
	fm["index"] = strictIndex
	return fm
})

// MissingKeyError is a template reading a map key that is not there: a var
// the host does not have, most often misspelt.
type MissingKeyError struct{ Key string }

func (e *MissingKeyError) Error() string { return fmt.Sprintf("map has no entry for key %q", e.Key) }

var labelsType = reflect.TypeFor[Labels]()

// strictIndex is text/template's index, except that a missing map key is an
// error instead of the zero value, which would print as "<no value>"; a
// label the host does not have is "".
func strictIndex(item reflect.Value, keys ...reflect.Value) (reflect.Value, error) {
	v := item
	for _, k := range keys {
		v, k = indirect(v), indirect(k)
		switch v.Kind() {
		case reflect.Map:
			if !k.IsValid() {
				return reflect.Value{}, errors.New("index of a map with a nil key")
			}
			switch {
			case k.Type().AssignableTo(v.Type().Key()):
			case k.Type().ConvertibleTo(v.Type().Key()) && k.Kind() == v.Type().Key().Kind():
				k = k.Convert(v.Type().Key())
			default:
				return reflect.Value{}, fmt.Errorf("index of a map by %s, not %s", k.Type(), v.Type().Key())
			}
			e := v.MapIndex(k)
			if !e.IsValid() && v.Type() == labelsType {
				e = reflect.ValueOf("")
			}
			if !e.IsValid() {
				return reflect.Value{}, &MissingKeyError{Key: fmt.Sprint(k.Interface())}
			}
			v = e
		case reflect.Slice, reflect.Array, reflect.String:
			var i int64
			switch {
			case k.CanInt():
				i = k.Int()
			case k.CanUint():
				i = int64(k.Uint())
			case k.CanFloat() && k.Float() == float64(int64(k.Float())):
				i = int64(k.Float())
			default:
				return reflect.Value{}, fmt.Errorf("index of a list by %v: not a whole number", k)
			}
			if i < 0 || i >= int64(v.Len()) {
				return reflect.Value{}, fmt.Errorf("index %d out of range: the list has %d items", i, v.Len())
			}
			v = v.Index(int(i))
		case reflect.Invalid:
			return reflect.Value{}, errors.New("index of a missing value")
		default:
			return reflect.Value{}, fmt.Errorf("cannot index a %s", v.Type())
		}
	}
	return v, nil
}

// indirect looks through interfaces and pointers, as templates do.
func indirect(v reflect.Value) reflect.Value {
	for v.IsValid() && (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer) {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	return v
}

// templateName names a Go template in its errors: its source file, or
// "content".
func templateName(s *v1alpha1.FileSpec) string {
	if s.Content == nil && s.Source != "" {
		return filepath.Base(s.Source)
	}
	return "content"
}

// renderGo renders a Go template. A key missing from a map (.Vars.name,
// index .Vars "name") is an error naming the template's line.
func renderGo(s *v1alpha1.FileSpec, src []byte, data TemplateData) ([]byte, error) {
	tmpl, err := parse(templateName(s), string(src))
	if err != nil {
		return nil, fmt.Errorf("spec.template: %w", &ParseError{err})
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("spec.template: render for host %s: %w", data.Host.Name, &RenderError{err})
	}
	if b.Len() > MaxContent {
		return nil, fmt.Errorf("spec.template: rendered for host %s, the content is %s, more than the %s a File holds", data.Host.Name, reconcilers.Size(int64(b.Len())), reconcilers.Size(MaxContent))
	}
	return b.Bytes(), nil
}

// parsed keeps the templates parsed lately: a template is rendered for
// every host it targets, in every cycle and at every validation, and
// parsing it with sprig's functions costs far more than executing it.
// Executing a parsed template is safe from several goroutines.
var parsed struct {
	sync.Mutex
	m map[[2]string]*template.Template
}

// parsedLimit bounds the cache; past it the cache starts over.
const parsedLimit = 512

func parse(name, src string) (*template.Template, error) {
	key := [2]string{name, src}
	parsed.Lock()
	t, ok := parsed.m[key]
	parsed.Unlock()
	if ok {
		return t, nil
	}
	t, err := template.New(name).Option("missingkey=error").Funcs(templateFuncs()).Parse(src)
	if err != nil {
		return nil, err
	}
	parsed.Lock()
	if parsed.m == nil || len(parsed.m) >= parsedLimit {
		parsed.m = map[[2]string]*template.Template{}
	}
	parsed.m[key] = t
	parsed.Unlock()
	return t, nil
}

// ParseError is a Go template that does not parse.
type ParseError struct{ Err error }

func (e *ParseError) Error() string {
	return "Go template " + strings.TrimPrefix(e.Err.Error(), "template: ")
}

func (e *ParseError) Unwrap() error { return e.Err }

// RenderError is a Go template that failed for a host: its message names
// the template and line ("Go template nginx.conf:3:12: ...").
type RenderError struct{ Err error }

func (e *RenderError) Error() string {
	msg := "Go template " + strings.TrimPrefix(e.Err.Error(), "template: ")
	if e.MissingKey() {
		msg += ` (a var the host does not have; an optional one reads {{ get .Vars "name" | default "value" }})`
	}
	return msg
}

func (e *RenderError) Unwrap() error { return e.Err }

// MissingKey reports whether the template read a key that is not there: a
// mistake in the manifests, whatever the host's facts.
func (e *RenderError) MissingKey() bool {
	var mk *MissingKeyError
	// missingkey=error reports .Vars.name with this text and no type.
	return errors.As(e.Err, &mk) || strings.Contains(e.Err.Error(), "map has no entry for key")
}
