package cli

import (
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/spf13/cobra"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/manifest"
)

func newExplainCmd(cfg Config) *cobra.Command {
	return &cobra.Command{
		Use:   "explain KIND[.field.path]",
		Short: "Document a kind or one of its fields",
		Long: "Explain prints the description of a kind and its fields, with their types, in the\n" +
			"manner of kubectl explain: `explain User`, `explain User.spec`,\n" +
			"`explain Host.spec.hostKey.policy`. Without an argument it lists the kinds.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if len(args) == 0 {
				listKinds(out, cfg.Scheme)
				return nil
			}
			return explain(out, cfg.Scheme, cmd.Root().Name(), args[0])
		},
	}
}

func listKinds(w io.Writer, s *v1alpha1.Scheme) {
	fmt.Fprintln(w, "KINDS:")
	for _, k := range s.Kinds() {
		fmt.Fprintf(w, "  %-14s %s\n", k.Kind, k.Description)
	}
}

// explainField is one field as explain shows it.
type explainField struct {
	name     string
	typ      reflect.Type
	doc      string
	required bool
	validate string
}

// envelopeFields are the top-level fields of every document.
func envelopeFields(kt v1alpha1.KindType) []explainField {
	return []explainField{
		{"apiVersion", reflect.TypeFor[string](), v1alpha1.Doc("TypeMeta", "apiVersion"), true, ""},
		{"kind", reflect.TypeFor[string](), v1alpha1.Doc("TypeMeta", "kind") + " Here: " + kt.Kind + ".", true, ""},
		{"metadata", reflect.TypeFor[v1alpha1.ObjectMeta](), v1alpha1.Doc("Resource", "metadata"), true, ""},
		{"spec", reflect.TypeOf(kt.NewSpec()), v1alpha1.Doc("Resource", "spec"), false, ""},
	}
}

func structFields(t reflect.Type) []explainField {
	var out []explainField
	for _, f := range manifest.Fields(t) {
		out = append(out, explainField{f.Name, f.Type, f.Doc(), f.Required(), f.Validate})
	}
	return out
}

// explain documents a kind or a field; prog is the tool's name, for the
// hint that leads from a kind to its spec, where its own fields are.
func explain(w io.Writer, s *v1alpha1.Scheme, prog, arg string) error {
	kindName, path, _ := strings.Cut(arg, ".")
	kt, ok := lookupKind(s, kindName)
	if !ok {
		var names []string
		for _, k := range s.Kinds() {
			names = append(names, k.Kind)
		}
		msg := fmt.Sprintf("unknown kind %q", kindName)
		if sug := manifest.Suggest(kindName, names); sug != "" {
			return exitf(exitInvalid, "%s (did you mean %s?)", msg, sug)
		}
		return exitf(exitInvalid, "%s (known: %s)", msg, strings.Join(names, ", "))
	}
	header := fmt.Sprintf("KIND:     %s\nVERSION:  %s\n\n", kt.Kind, kt.APIVersion)
	fields := envelopeFields(kt)
	if path == "" {
		fmt.Fprint(w, header)
		writeSection(w, "DESCRIPTION", kt.Description)
		writeFields(w, fields)
		fmt.Fprintf(w, "\nUse \"%s explain %s.spec\" for the fields of the spec.\n", prog, kt.Kind)
		return nil
	}
	toks := strings.Split(path, ".")
	if findField(fields, toks[0]) == nil && findField(structFields(fields[3].typ), toks[0]) != nil {
		toks = append([]string{"spec"}, toks...) // "User.shell" means "User.spec.shell"
	}
	var cur *explainField
	walked := kt.Kind
	for _, tok := range toks {
		if cur != nil {
			st := structOf(cur.typ)
			if st == nil {
				return exitf(exitInvalid, "%s is of type %s and has no fields", walked, typeName(cur.typ))
			}
			fields = structFields(st)
		}
		cur = findField(fields, tok)
		if cur == nil {
			var names []string
			for _, f := range fields {
				names = append(names, f.name)
			}
			hint := " (fields: " + strings.Join(names, ", ") + ")"
			if sug := manifest.Suggest(tok, names); sug != "" {
				hint = " (did you mean " + sug + "?)"
			}
			return exitf(exitInvalid, "%s has no field %q%s", walked, tok, hint)
		}
		walked += "." + tok
	}
	fmt.Fprint(w, header)
	fmt.Fprintf(w, "FIELD:    %s <%s>%s\n\n", cur.name, typeName(cur.typ), requiredMark(cur.required))
	desc := cur.doc
	if st := structOf(cur.typ); st != nil && desc == "" {
		desc = v1alpha1.Doc(st.Name(), "")
	}
	writeSection(w, "DESCRIPTION", desc+allowedValues(cur.validate))
	if st := structOf(cur.typ); st != nil {
		writeFields(w, structFields(st))
	}
	return nil
}

func lookupKind(s *v1alpha1.Scheme, name string) (v1alpha1.KindType, bool) {
	if kt, ok := s.Lookup(name); ok {
		return kt, true
	}
	for _, kt := range s.Kinds() {
		if strings.EqualFold(kt.Kind, name) {
			return kt, true
		}
	}
	return v1alpha1.KindType{}, false
}

func findField(fields []explainField, name string) *explainField {
	for i := range fields {
		if fields[i].name == name {
			return &fields[i]
		}
	}
	return nil
}

// structOf returns the struct type a field's value is made of (through
// pointers, lists and maps), or nil for scalars and opaque types.
func structOf(t reflect.Type) reflect.Type {
	for {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
			t = t.Elem()
			continue
		case reflect.Struct:
			if reflect.PointerTo(t).Implements(reflect.TypeFor[interface{ UnmarshalJSON([]byte) error }]()) {
				return nil
			}
			return t
		}
		return nil
	}
}

// typeName names a type the way a manifest author thinks of it.
func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return typeName(t.Elem())
	case reflect.Slice, reflect.Array:
		return "[]" + typeName(t.Elem())
	case reflect.Map:
		return "map[string]" + typeName(t.Elem())
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Interface:
		return "any"
	case reflect.Struct:
		if t == reflect.TypeFor[v1alpha1.Duration]() {
			return "duration"
		}
		return t.Name()
	}
	return t.String()
}

func requiredMark(required bool) string {
	if required {
		return " -required-"
	}
	return ""
}

// allowedValues explains the validate rules of a field that restrict its
// values, from the same rule table the loader checks them with. Rules after
// "dive" apply to the items of a list or map.
func allowedValues(validate string) string {
	var out strings.Builder
	for _, rule := range strings.Split(validate, ",") {
		if rule == "dive" || rule == "keys" {
			break
		}
		if v, ok := strings.CutPrefix(rule, "oneof="); ok {
			out.WriteString(" Allowed values: " + strings.Join(strings.Fields(v), ", ") + ".")
		} else if r, ok := v1alpha1.LookupRule(rule); ok {
			out.WriteString(" Must be " + r.Message + ".")
		}
	}
	return out.String()
}

func writeSection(w io.Writer, title, text string) {
	fmt.Fprintf(w, "%s:\n", title)
	if text == "" {
		text = "(no description)"
	}
	for _, line := range wrap(text, 76) {
		fmt.Fprintf(w, "    %s\n", line)
	}
	fmt.Fprintln(w)
}

func writeFields(w io.Writer, fields []explainField) {
	fmt.Fprintln(w, "FIELDS:")
	for _, f := range fields {
		fmt.Fprintf(w, "  %s\t<%s>%s\n", f.name, typeName(f.typ), requiredMark(f.required))
		doc := f.doc + allowedValues(f.validate)
		if doc == "" {
			doc = "(no description)"
		}
		for _, line := range wrap(doc, 72) {
			fmt.Fprintf(w, "    %s\n", line)
		}
		fmt.Fprintln(w)
	}
}

// wrap breaks text into lines of at most width runes, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	var cur strings.Builder
	for _, word := range strings.Fields(text) {
		if cur.Len() > 0 && cur.Len()+1+len(word) > width {
			lines = append(lines, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte(' ')
		}
		cur.WriteString(word)
	}
	if cur.Len() > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}
