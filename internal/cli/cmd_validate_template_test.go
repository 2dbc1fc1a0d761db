package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/reconcilers/file"
)

// TestValidateMisspeltTemplateVar: a Go template reading a var the host
// does not have fails optimus validate at the line of the content, naming
// the template's line and the hosts, whether it reads .Vars.name or
// index .Vars "name".
func TestValidateMisspeltTemplateVar(t *testing.T) {
	dir := t.TempDir()
	doc := `apiVersion: optimus.dev/v1alpha1
kind: Host
metadata: {name: web1, labels: {role: web}}
spec: {address: 127.0.0.1, vars: {port: 8080}}
---
apiVersion: optimus.dev/v1alpha1
kind: Host
metadata: {name: web2, labels: {role: web}}
spec: {address: 127.0.0.2, vars: {port: 8081}}
---
apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: conf}
spec:
  path: /etc/app.conf
  template: true
  content: |
    listen {{ .Vars.port }}
    backlog {{ index .Vars "backlgo" }}
`
	if err := os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := manifestTestConfig(t)
	reg, err := reconcilers.NewKindRegistry(file.Kind)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Registry = reg
	var stdout, stderr bytes.Buffer
	code := Run(cfg, []string{"validate", "-f", dir}, strings.NewReader(""), &stdout, &stderr)
	if code != 1 {
		t.Fatalf("code %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	want := filepath.Join(dir, "app.yaml") + `:17: File/conf: spec.content: for hosts web1, web2: Go template content:2:`
	if got := stderr.String(); !strings.Contains(got, want) || !strings.Contains(got, `map has no entry for key "backlgo"`) {
		t.Errorf("stderr %q, want it to hold %q", got, want)
	}

	// Spelt right, it is valid.
	fixed := strings.Replace(doc, "backlgo", "port", 1)
	if err := os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	if code := Run(cfg, []string{"validate", "-f", dir}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("code %d, stderr %q", code, stderr.String())
	}
}
