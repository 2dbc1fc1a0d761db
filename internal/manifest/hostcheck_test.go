package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// TestCheckHost: the loader's CheckHost runs for every resource and every
// host it targets; a problem found on several hosts is one error at the
// field's line, naming the first three hosts and counting the rest.
func TestCheckHost(t *testing.T) {
	var b strings.Builder
	for i := 1; i <= 5; i++ {
		fmt.Fprintf(&b, "apiVersion: optimus.dev/v1alpha1\nkind: Host\nmetadata: {name: h%d, labels: {role: web}}\nspec: {address: 127.0.0.%d}\n---\n", i, i)
	}
	b.WriteString("apiVersion: optimus.dev/v1alpha1\nkind: File\nmetadata: {name: f}\nspec:\n  path: /etc/f\n  hostSelector: {matchLabels: {role: web}}\n  content: x\n")
	path := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	l := testLoader(t)
	calls := 0
	l.CheckHost = func(res *v1alpha1.Resource, h *v1alpha1.Host) []v1alpha1.FieldError {
		calls++
		if res.Kind != "File" || h.Metadata.Name == "h3" {
			return nil
		}
		return []v1alpha1.FieldError{{Path: "content", Message: "wrong for this host"}}
	}
	_, err := l.Load(path)
	if calls != 5 {
		t.Errorf("CheckHost called %d times, want once per host", calls)
	}
	want := path + ":32: File/f: spec.content: for hosts h1, h2, h4 and 1 more: wrong for this host"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

// TestCheckHostVariantsAndFacts: a resource that reads host variables is
// checked as each host's variant; one selected by facts only warns, since
// the host may not be targeted at all.
func TestCheckHostVariantsAndFacts(t *testing.T) {
	doc := `apiVersion: optimus.dev/v1alpha1
kind: Host
metadata: {name: h1}
spec: {address: 127.0.0.1, vars: {dir: /srv/a}}
---
apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: v}
spec:
  path: ${vars.dir}/f
  content: x
---
apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: debian}
spec:
  hostSelector: {matchFacts: {os.id: debian}}
  path: /etc/g
  content: x
`
	path := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	l := testLoader(t)
	var paths []string
	l.CheckHost = func(res *v1alpha1.Resource, h *v1alpha1.Host) []v1alpha1.FieldError {
		if res.Metadata.Name == "debian" {
			return []v1alpha1.FieldError{{Path: "content", Message: "wrong"}}
		}
		if s, ok := res.Spec.(*v1alpha1.FileSpec); ok {
			paths = append(paths, s.Path)
		}
		return nil
	}
	set, err := l.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 1 || paths[0] != "/srv/a/f" {
		t.Errorf("checked paths %q, want the host's variant /srv/a/f", paths)
	}
	want := path + ":19: File/debian: spec.content: for host h1: wrong (if its facts match spec.hostSelector.matchFacts)"
	if len(set.Warnings) != 1 || set.Warnings[0] != want {
		t.Errorf("warnings %q\nwant %q", set.Warnings, want)
	}
}
