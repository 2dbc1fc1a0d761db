package jinja

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/parser"
)

// ansibleConfig is how Ansible's template module configures Jinja2:
// trim_blocks on, the trailing newline kept, and an undefined variable an
// error rather than an empty string.
func ansibleConfig() *config.Config {
	c := config.New()
	c.TrimBlocks = true
	c.KeepTrailingNewline = true
	c.StrictUndefined = true
	return c
}

// environment is Jinja2's built-ins plus the Ansible filters.
var environment = &exec.Environment{
	Context:           exec.EmptyContext().Update(builtins.GlobalFunctions).Update(builtins.GlobalVariables),
	Filters:           builtins.Filters.Update(exec.NewFilterSet(ansibleFilters)),
	Tests:             builtins.Tests,
	ControlStructures: builtins.ControlStructures,
	Methods:           builtins.Methods,
}

// Error is a problem in a template at a line of its source.
type Error struct {
	// Line is 1-based; 0 when the library did not say.
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// Template is a parsed Jinja2 template.
type Template struct {
	t *exec.Template
}

// Parse parses src and checks that every filter and test it uses exists,
// so that a template is refused when manifests are loaded, not when a host
// is reached.
func Parse(src string) (*Template, error) {
	loader, err := loaders.NewMemoryLoader(map[string]string{"/template": src})
	if err != nil {
		return nil, err
	}
	t, err := exec.NewTemplate("/template", ansibleConfig(), loader, environment)
	if err != nil {
		return nil, parseError(err)
	}
	var errs []error
	// gonja's own walker stops at the top-level nodes, so the tree is
	// searched by reflection for every filter and test call.
	findCalls(reflect.ValueOf(t.Root()), map[uintptr]bool{}, func(name string, line int, test bool) {
		switch {
		case test && !environment.Tests.Exists(name):
			errs = append(errs, &Error{Line: line, Msg: fmt.Sprintf("unknown test %q", name)})
		case !test && !environment.Filters.Exists(name):
			errs = append(errs, &Error{Line: line, Msg: fmt.Sprintf("unknown filter %q (supported: %s)", name, strings.Join(FilterNames(), ", "))})
		}
	})
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Template{t: t}, nil
}

// lineRe finds the position gonja's parse errors carry ("Line: 3 Col: 7").
var lineRe = regexp.MustCompile(`[Ll]ine:? ?(\d+)`)

func parseError(err error) error {
	msg := err.Error()
	// gonja quotes the whole source in its message; the source is the
	// author's own file and only makes the error unreadable.
	if i := strings.Index(msg, "failed to parse template '"); i >= 0 {
		if j := strings.LastIndex(msg, "': "); j > i {
			msg = msg[j+3:]
		}
	}
	e := &Error{Msg: msg}
	var se *parser.SyntaxError
	if errors.As(err, &se) {
		return &Error{Line: se.Line, Msg: se.Message}
	}
	if m := lineRe.FindStringSubmatch(msg); m != nil {
		fmt.Sscan(m[1], &e.Line)
	}
	return e
}

// Render executes the template with vars as its top-level variables.
func (t *Template) Render(vars map[string]any) ([]byte, error) {
	out, err := t.t.ExecuteToBytes(exec.NewContext(vars))
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "unable to execute template: "))
	}
	return out, nil
}

// FilterNames lists every filter a template may use, sorted.
func FilterNames() []string {
	var names []string
	for _, set := range []map[string]exec.FilterFunction{builtinFilterNames(), ansibleFilters} {
		for n := range set {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

func builtinFilterNames() map[string]exec.FilterFunction {
	out := map[string]exec.FilterFunction{}
	for _, n := range knownBuiltins {
		if builtins.Filters.Exists(n) {
			out[n] = nil
		}
	}
	return out
}

// knownBuiltins are Jinja2's own filters that gonja provides; FilterSet
// does not list its names, so they are named here for error messages.
var knownBuiltins = []string{"abs", "attr", "batch", "capitalize", "center", "default", "d", "dictsort",
	"escape", "e", "first", "float", "format", "groupby", "indent", "int", "join", "items", "last",
	"length", "count", "list", "lower", "map", "max", "min", "pprint", "random", "reject", "rejectattr",
	"replace", "reverse", "round", "safe", "select", "selectattr", "slice", "sort", "string", "striptags",
	"sum", "title", "tojson", "trim", "truncate", "unique", "upper", "urlencode", "urlize", "wordcount",
	"wordwrap", "xmlattr"}

func sortStrings(s []string) { sort.Strings(s) }

var (
	filterCallType = reflect.TypeFor[*nodes.FilterCall]()
	testCallType   = reflect.TypeFor[*nodes.TestCall]()
)

// findCalls reports every FilterCall and TestCall below v.
func findCalls(v reflect.Value, seen map[uintptr]bool, found func(name string, line int, test bool)) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return
		}
		seen[v.Pointer()] = true
		// Fields are read through reflect, not Interface, because a call
		// may be reached through an unexported field.
		if t := v.Type(); t == filterCallType || t == testCallType {
			line := 0
			if tok := v.Elem().FieldByName("Token"); !tok.IsNil() {
				line = int(tok.Elem().FieldByName("Line").Int())
			}
			found(v.Elem().FieldByName("Name").String(), line, t == testCallType)
		}
		findCalls(v.Elem(), seen, found)
	case reflect.Interface:
		if !v.IsNil() {
			findCalls(v.Elem(), seen, found)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			findCalls(v.Field(i), seen, found)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			findCalls(v.Index(i), seen, found)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			findCalls(it.Value(), seen, found)
		}
	}
}
