package manifest

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// reportSpec is a custom kind: it renders a local template with local
// partials, so those files are inputs, and names a local key file.
type reportSpec struct {
	v1alpha1.Targeting `json:",inline"`
	Template           string                   `json:"template" validate:"required" optimus:"path,input"`
	Partials           []reportPartial          `json:"partials,omitempty" validate:"dive"`
	KeyFile            string                   `json:"keyFile,omitempty" optimus:"path"`
	Ratio              float64                  `json:"ratio,omitempty"`
	Retries            uint8                    `json:"retries,omitempty"`
	Every              *v1alpha1.Duration       `json:"every,omitempty"`
	Extra              map[string]any           `json:"extra,omitempty"`
	Named              map[string]reportPartial `json:"named,omitempty"`
	Pair               [2]string                `json:"pair,omitempty"`
}

type reportPartial struct {
	File string `json:"file" validate:"required" optimus:"path,input"`
}

func customLoader(t *testing.T) *Loader {
	t.Helper()
	kinds := append(v1alpha1.BuiltinKinds(), v1alpha1.KindType{
		APIVersion: "example.com/v1", Kind: "Report", Description: "A rendered report.",
		NewSpec: func() any { return new(reportSpec) },
	})
	scheme, err := v1alpha1.NewScheme(kinds...)
	if err != nil {
		t.Fatal(err)
	}
	return &Loader{Scheme: scheme}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCustomKindPathsAndTypes(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"tmpl/report.tmpl": "{{.}}", "tmpl/head.tmpl": "head", "tmpl/foot.tmpl": "foot",
		"manifests/report.yaml": `apiVersion: example.com/v1
kind: Report
metadata: {name: weekly}
spec:
  template: ../tmpl/report.tmpl
  partials: [{file: ../tmpl/head.tmpl}, {file: ../tmpl/foot.tmpl}]
  keyFile: keys/id
  ratio: 2
  retries: 3
  every: 1h
  extra: {port: 8080, tags: [a, b], on: true, nothing: null}
  named: {x: {file: /etc/hostname}}
  pair: [left, right]
`,
	})
	set, err := customLoader(t).Load(filepath.Join(dir, "manifests"))
	if err != nil {
		t.Fatal(err)
	}
	spec := set.Resources[0].Spec.(*reportSpec)
	tmpl := filepath.Join(dir, "tmpl")
	if spec.Template != filepath.Join(tmpl, "report.tmpl") || spec.KeyFile != filepath.Join(dir, "manifests", "keys", "id") {
		t.Errorf("paths not resolved against the manifest's directory: %q %q", spec.Template, spec.KeyFile)
	}
	inputs := v1alpha1.FileInputs(spec)
	slices.Sort(inputs)
	want := []string{"/etc/hostname", filepath.Join(tmpl, "foot.tmpl"), filepath.Join(tmpl, "head.tmpl"), filepath.Join(tmpl, "report.tmpl")}
	if !slices.Equal(inputs, want) {
		t.Errorf("FileInputs = %v, want %v", inputs, want)
	}
	if spec.Ratio != 2 || spec.Retries != 3 || spec.Every.String() != "1h0m0s" || spec.Pair != [2]string{"left", "right"} {
		t.Errorf("scalars decoded wrongly: %+v", spec)
	}
	// Free-form values read as JSON would read them.
	wantExtra := map[string]any{"port": float64(8080), "tags": []any{"a", "b"}, "on": true, "nothing": nil}
	if !reflect.DeepEqual(spec.Extra, wantExtra) {
		t.Errorf("extra = %#v, want %#v", spec.Extra, wantExtra)
	}
}

func TestCustomKindErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"report.tmpl": "x", "bad.yaml": `apiVersion: example.com/v1
kind: Report
metadata: {name: weekly}
spec:
  template: report.tmpl
  partials:
    - file: report.tmpl
    - file: missing.tmpl
  retries: 300
  ratio: .inf
  pair: [only-one]
  named: {x: {fil: a}}
`})
	_, err := customLoader(t).Load(filepath.Join(dir, "bad.yaml"))
	if err == nil {
		t.Fatal("bad custom resource accepted")
	}
	file := filepath.Join(dir, "bad.yaml")
	for _, want := range []string{
		file + ":9: Report/weekly: spec.retries: 300 is out of range",
		file + ":10: Report/weekly: spec.ratio: must be a finite number, not the number .inf",
		file + ":11: Report/weekly: spec.pair: must be a list of 2 items, not 1",
		file + `:12: Report/weekly: spec.named[x].fil: unknown field "fil" (did you mean file?)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}

	// Once the types are right, the missing input is found at its line.
	fixed := strings.NewReplacer("retries: 300", "retries: 3", "ratio: .inf", "ratio: 1", "[only-one]", "[a, b]", "fil: a", "file: report.tmpl").
		Replace(mustRead(t, file))
	writeFiles(t, dir, map[string]string{"bad.yaml": fixed})
	_, err = customLoader(t).Load(file)
	want := file + `:8: Report/weekly: spec.partials[1].file: cannot read "missing.tmpl" (relative to the manifest's directory): no such file`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant %s", err, want)
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
