package jinja

import (
	"reflect"
	"sort"

	"github.com/nikolalohinski/gonja/v2/nodes"
)

// Variable is a variable a template reads from the outside.
type Variable struct {
	Name string
	// Line is where the template reads it first, 1-based.
	Line int
}

// Variables lists the variables the template reads that it does not
// define itself (with set, for, with or as a macro's parameter), each once
// at its first use, in the order of the source. A variable the template
// only reads through the default filter, or tests with "is defined" or
// "is undefined", is left out: the template renders without it. Names are
// taken as defined for the whole template wherever it defines them, so a
// variable used outside the block that defines it is missed rather than
// reported wrongly.
func (t *Template) Variables() []Variable {
	w := &varWalker{bound: map[string]bool{}, guarded: map[string]bool{}, seen: map[uintptr]bool{}}
	w.walk(reflect.ValueOf(t.t.Root()), false)
	first := map[string]int{}
	for _, r := range w.refs {
		if r.optional || w.bound[r.Name] || w.guarded[r.Name] || alwaysDefined[r.Name] || callable[r.Name] {
			continue
		}
		if l, ok := first[r.Name]; !ok || r.Line < l {
			first[r.Name] = r.Line
		}
	}
	out := make([]Variable, 0, len(first))
	for n, l := range first {
		out = append(out, Variable{Name: n, Line: l})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// alwaysDefined are the names every template has: the loop of a for, the
// parameters every macro gets, and the library's own globals.
var alwaysDefined = map[string]bool{"loop": true, "varargs": true, "kwargs": true, "self": true, "gonja": true}

type reference struct {
	Variable
	optional bool
}

// varWalker collects the names a template reads (refs) and those it
// defines (bound), and the names tested with "is defined" (guarded).
type varWalker struct {
	refs    []reference
	bound   map[string]bool
	guarded map[string]bool
	seen    map[uintptr]bool
}

var (
	filteredType = reflect.TypeFor[*nodes.FilteredExpression]()
	testExprType = reflect.TypeFor[*nodes.TestExpression]()
	macroType    = reflect.TypeFor[*nodes.Macro]()
)

// walk visits v; optional says that an undefined name below it is
// harmless (it is the subject of a default filter). Like findNodes, it
// reads fields through reflect because gonja keeps some of them
// unexported (the target of a set, the names of a with).
func (w *varWalker) walk(v reflect.Value, optional bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || w.seen[v.Pointer()] {
			return
		}
		w.seen[v.Pointer()] = true
		e := v.Elem()
		switch t := v.Type(); {
		case t == nameType:
			tok := e.FieldByName("Name")
			if !tok.IsNil() {
				w.refs = append(w.refs, reference{Variable{tok.Elem().FieldByName("Val").String(), tokenLine(tok)}, optional})
			}
			return
		case t == filteredType:
			subjectOptional := optional
			filters := e.FieldByName("Filters")
			for i := range filters.Len() {
				if n := filters.Index(i).Elem().FieldByName("Name").String(); n == "default" || n == "d" {
					subjectOptional = true
				}
			}
			w.walk(e.FieldByName("Expression"), subjectOptional)
			w.walk(filters, optional)
			return
		case t == testExprType:
			test := e.FieldByName("Test")
			if n := test.Elem().FieldByName("Name").String(); n == "defined" || n == "undefined" {
				if name, ok := baseName(e.FieldByName("Expression")); ok {
					w.guarded[name] = true
				}
				w.walk(e.FieldByName("Expression"), true)
				w.walk(test, optional)
				return
			}
		case t == callType:
			// The function's name is a macro or a global, which Parse
			// checks; only its arguments are read.
			if fn := e.FieldByName("Func"); fn.Kind() == reflect.Interface && !fn.IsNil() && fn.Elem().Type() == nameType {
				w.walk(e.FieldByName("Args"), optional)
				w.walk(e.FieldByName("Kwargs"), optional)
				return
			}
		case t == macroType:
			w.bound[e.FieldByName("Name").String()] = true
			for _, f := range []string{"VarArgsName", "KwArgsName"} {
				w.bound[e.FieldByName(f).String()] = true
			}
			kw := e.FieldByName("Kwargs")
			for i := range kw.Len() {
				if k, ok := kw.Index(i).Elem().FieldByName("Key").Interface().(*nodes.String); ok {
					w.bound[k.Val] = true
				}
			}
		case e.Kind() == reflect.Struct:
			w.bindStatement(t.Elem().Name(), e)
		}
		w.walk(e, optional)
	case reflect.Interface:
		if !v.IsNil() {
			w.walk(v.Elem(), optional)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			// A parent points back up the tree (a call's caller, an
			// extended template): it is not part of this expression.
			if v.Type().Field(i).Name == "Parent" {
				continue
			}
			w.walk(v.Field(i), optional)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			w.walk(v.Index(i), optional)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			w.walk(it.Value(), optional)
		}
	}
}

// bindStatement records the names a for, set or with defines. A set's
// plain target is marked seen so that it is not read as a use.
func (w *varWalker) bindStatement(typeName string, e reflect.Value) {
	switch typeName {
	case "ForControlStructure":
		w.bound[e.FieldByName("Key").String()] = true
		w.bound[e.FieldByName("Value").String()] = true
	case "SetControlStructure":
		target := e.FieldByName("target")
		if target.Kind() == reflect.Interface && !target.IsNil() && target.Elem().Type() == nameType {
			w.seen[target.Elem().Pointer()] = true
			tok := target.Elem().Elem().FieldByName("Name")
			w.bound[tok.Elem().FieldByName("Val").String()] = true
		}
	case "WithControlStructure":
		it := e.FieldByName("pairs").MapRange()
		for it.Next() {
			w.bound[it.Key().String()] = true
		}
	}
}

// baseName is the variable an expression starts from: x for x, x.y and
// x['y'].
func baseName(v reflect.Value) (string, bool) {
	for v.Kind() == reflect.Interface && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return "", false
	}
	switch n := v.Interface().(type) {
	case *nodes.Name:
		return n.Name.Val, true
	case *nodes.GetAttribute:
		return baseName(reflect.ValueOf(n.Node))
	case *nodes.GetItem:
		return baseName(reflect.ValueOf(n.Node))
	}
	return "", false
}
