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
	t, err := newTemplate(loader)
	if err != nil {
		return nil, parseError(err)
	}
	var errs []error
	macros := map[string]bool{}
	for name := range t.Macros() {
		macros[name] = true
	}
	// gonja's own walker stops at the top-level nodes, so the tree is
	// searched by reflection.
	findNodes(reflect.ValueOf(t.Root()), map[uintptr]bool{}, func(kind, name string, line int) {
		switch {
		case kind == "test" && !environment.Tests.Exists(name):
			errs = append(errs, &Error{Line: line, Msg: fmt.Sprintf("unknown test %q", name)})
		case kind == "filter" && !environment.Filters.Exists(name):
			errs = append(errs, &Error{Line: line, Msg: fmt.Sprintf("unknown filter %q (supported: %s)", name, strings.Join(FilterNames(), ", "))})
		case kind == "call" && !macros[name] && !callable[name]:
			errs = append(errs, &Error{Line: line, Msg: fmt.Sprintf("unknown function %q (Ansible's lookup, query and other plugins are not available)", name)})
		case kind == "statement":
			errs = append(errs, &Error{Line: line, Msg: fmt.Sprintf("%s is not supported: a File template is one file", name)})
		}
	})
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Template{t: t}, nil
}

// newTemplate parses the template. gonja's parser panics on some invalid
// input ("{% if a not %}" reads past the end of its tokens): that is an
// invalid template, not a crash of validate.
func newTemplate(loader loaders.Loader) (t *exec.Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, &Error{Msg: "not valid Jinja2: an expression or statement is incomplete"}
		}
	}()
	return exec.NewTemplate("/template", ansibleConfig(), loader, environment)
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
	callType       = reflect.TypeFor[*nodes.Call]()
	nameType       = reflect.TypeFor[*nodes.Name]()
	// statements that read other template files, which a File does not have.
	fileStatements = map[string]string{"IncludeControlStructure": "include", "ImportControlStructure": "import",
		"FromImportControlStructure": "from ... import", "ExtendsControlStructure": "extends"}
	// callable are the functions a template may call besides its macros.
	callable = map[string]bool{"range": true, "dict": true, "cycler": true, "joiner": true, "lipsum": true,
		"namespace": true, "gettext": true, "_": true, "ngettext": true, "caller": true, "super": true}
)

// findNodes reports every filter, test, function call and file statement
// below v. Fields are read through reflect, not Interface, because a node
// may be reached through an unexported field.
func findNodes(v reflect.Value, seen map[uintptr]bool, found func(kind, name string, line int)) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return
		}
		seen[v.Pointer()] = true
		e := v.Elem()
		switch t := v.Type(); {
		case t == filterCallType:
			found("filter", e.FieldByName("Name").String(), tokenLine(e.FieldByName("Token")))
		case t == testCallType:
			found("test", e.FieldByName("Name").String(), tokenLine(e.FieldByName("Token")))
		case t == callType:
			if fn := e.FieldByName("Func"); fn.Kind() == reflect.Interface && !fn.IsNil() && fn.Elem().Type() == nameType {
				name := fn.Elem().Elem().FieldByName("Name")
				found("call", name.Elem().FieldByName("Val").String(), tokenLine(name))
			}
		case e.Kind() == reflect.Struct && fileStatements[t.Elem().Name()] != "":
			found("statement", fileStatements[t.Elem().Name()], tokenLine(e.FieldByName("location")))
		}
		findNodes(e, seen, found)
	case reflect.Interface:
		if !v.IsNil() {
			findNodes(v.Elem(), seen, found)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			findNodes(v.Field(i), seen, found)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			findNodes(v.Index(i), seen, found)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			findNodes(it.Value(), seen, found)
		}
	}
}

// tokenLine is the line of a *tokens.Token value, 0 when there is none.
func tokenLine(tok reflect.Value) int {
	if !tok.IsValid() || tok.Kind() != reflect.Pointer || tok.IsNil() {
		return 0
	}
	return int(tok.Elem().FieldByName("Line").Int())
}
