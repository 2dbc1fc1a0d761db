package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	raw, err := JSONSchema(testLoader(t).Scheme)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatalf("schema does not compile: %v", err)
	}
	return s
}

// documents returns every non-empty document of a manifest file as the JSON
// value an editor's YAML language server would check.
func documents(t *testing.T, file string) []any {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(n.Content) == 0 || isEmpty(n.Content[0]) {
			continue
		}
		conv := &converter{report: func(*yaml.Node, string, string) {}}
		v, _ := conv.generic(n.Content[0], "")
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, doc)
	}
	return out
}

func TestSchemaAcceptsGoodManifests(t *testing.T) {
	s := compileSchema(t)
	files, _ := filepath.Glob("testdata/good/*.y*ml")
	seed, _ := filepath.Glob("../manifests/*.y*ml")
	files = append(files, seed...)
	examples, _ := filepath.Glob("../../examples/*/*.y*ml")
	files = append(files, examples...)
	for _, file := range files {
		for i, doc := range documents(t, file) {
			if err := s.Validate(doc); err != nil {
				t.Errorf("%s: document %d rejected: %v", file, i+1, err)
			}
		}
	}
}

func TestSchemaRejectsTypeErrors(t *testing.T) {
	s := compileSchema(t)
	for _, name := range []string{"wrong_type", "bad_enum", "unknown_field", "port_range", "bad_mode", "relative_path", "unknown_kind"} {
		file := filepath.Join("testdata", "bad", name+".yaml")
		for i, doc := range documents(t, file) {
			if err := s.Validate(doc); err == nil {
				t.Errorf("%s: document %d accepted", file, i+1)
			}
		}
	}
}

// TestSchemaPatternsAreTheValidatorRules checks that the schema takes every
// pattern from the rule table the loader validates with.
func TestSchemaPatternsAreTheValidatorRules(t *testing.T) {
	raw, err := JSONSchema(testLoader(t).Scheme)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Defs map[string]struct {
			Properties map[string]struct {
				Pattern string `json:"pattern"`
				// A constrained string may also be a substitution.
				AnyOf []struct {
					Pattern string `json:"pattern"`
				} `json:"anyOf"`
			} `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	checked := map[string]bool{}
	for _, kt := range testLoader(t).Scheme.Kinds() {
		specType := reflect.TypeOf(kt.NewSpec()).Elem()
		for _, f := range Fields(specType) {
			for _, tag := range strings.Split(f.Validate, ",") {
				if tag == "dive" {
					break
				}
				r, ok := v1alpha1.LookupRule(tag)
				if !ok || r.Pattern == "" {
					continue
				}
				prop := doc.Defs[f.Owner.Name()].Properties[f.Name]
				got := prop.Pattern
				if len(prop.AnyOf) == 2 && prop.AnyOf[1].Pattern == substitutionPattern {
					got = prop.AnyOf[0].Pattern
				}
				if got != r.Pattern {
					t.Errorf("%s.%s: schema pattern %q, rule %s has %q", f.Owner.Name(), f.Name, got, tag, r.Pattern)
				}
				checked[tag] = true
			}
		}
	}
	for _, tag := range []string{"abspath", "unixname", "filemode"} {
		if !checked[tag] {
			t.Errorf("no field with rule %s was checked", tag)
		}
	}
}

// TestSchemaFileTemplate: template is true, false or {engine: go|jinja2},
// as loading reads it.
func TestSchemaFileTemplate(t *testing.T) {
	s := compileSchema(t)
	doc := func(template string) any {
		var v any
		y := "apiVersion: optimus.dev/v1alpha1\nkind: File\nmetadata: {name: f}\nspec: {path: /f, content: x, template: " + template + "}\n"
		if err := yaml.Unmarshal([]byte(y), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, ok := range []string{"true", "false", "{engine: jinja2}", "{engine: go}"} {
		if err := s.Validate(doc(ok)); err != nil {
			t.Errorf("template: %s rejected: %v", ok, err)
		}
	}
	for _, bad := range []string{"yes-please", "{engine: mustache}", "{engin: go}", "1"} {
		if err := s.Validate(doc(bad)); err == nil {
			t.Errorf("template: %s accepted", bad)
		}
	}
}
