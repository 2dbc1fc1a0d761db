package optimus_test

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestArchitectureMapIsTrue checks the package map of docs/architecture.md
// against the code: each package listed imports exactly the packages of
// this module its line names (apis/v1alpha1 aside), and every package of
// the module but commands, hack/ and test/ is listed, so the map cannot
// drift from what go list says.
func TestArchitectureMapIsTrue(t *testing.T) {
	doc, err := os.ReadFile("docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```text\noptimus ")
	if !ok {
		t.Fatal("docs/architecture.md has no ```text block starting with the optimus package")
	}
	block, _, _ := strings.Cut("optimus "+rest, "```")
	want := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		pkg, imports, ok := strings.Cut(line, "->")
		if !ok {
			t.Fatalf("docs/architecture.md: %q is not \"package -> imports\"", line)
		}
		want[strings.TrimSpace(pkg)] = strings.Fields(imports)
	}

	const module = "github.com/optimus-cm/optimus"
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}:{{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, imports, _ := strings.Cut(line, ":")
		name := strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
		if name == "" {
			name = "optimus"
		}
		if strings.HasPrefix(name, "cmd/") || strings.HasPrefix(name, "hack/") || strings.HasPrefix(name, "test/") ||
			strings.Contains(name, "/gen/") {
			continue
		}
		var got []string
		for _, imp := range strings.Fields(imports) {
			if imp == module || strings.HasPrefix(imp, module+"/") {
				imp = strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
				if imp == "apis/v1alpha1" {
					continue
				}
				if isKind(imp) {
					imp = "reconcilers/<kind>"
				}
				if !slices.Contains(got, imp) {
					got = append(got, imp)
				}
			}
		}
		slices.Sort(got)
		if isKind(name) {
			// One line stands for every kind: each imports at most that.
			for _, imp := range got {
				if !slices.Contains(want["reconcilers/<kind>"], imp) {
					t.Errorf("%s imports %s, which the line of reconcilers/<kind> in docs/architecture.md does not allow", name, imp)
				}
			}
			continue
		}
		w, listed := want[name]
		if !listed {
			t.Errorf("package %s is not in the package map of docs/architecture.md; add: %s -> %s", name, name, strings.Join(got, " "))
			continue
		}
		if !slices.Equal(got, w) {
			t.Errorf("docs/architecture.md says %s imports %v; it imports %v: update the map (and keep the arrows one way)", name, w, got)
		}
	}
}

// isKind reports whether a package path is one of the built-in kinds.
func isKind(name string) bool {
	kind, ok := strings.CutPrefix(name, "reconcilers/")
	return ok && !strings.Contains(kind, "/")
}
