package manifest

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/bad")

func testLoader(t testing.TB) *Loader {
	t.Helper()
	scheme, err := v1alpha1.NewScheme(v1alpha1.BuiltinKinds()...)
	if err != nil {
		t.Fatal(err)
	}
	return &Loader{Scheme: scheme}
}

// TestBadManifests loads each file of testdata/bad alone and compares every
// error line (file:line, resource, field path, message) with its golden file.
func TestBadManifests(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("bad corpus has %d files, want at least 15", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			set, err := testLoader(t).Load(file)
			if err == nil {
				t.Fatalf("Load accepted a bad manifest: %d resources", len(set.Resources))
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error is %T, want ErrorList: %v", err, err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./manifest -run TestBadManifests -update)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s\ngot:\n%swant:\n%s", golden, got, want)
			}
		})
	}
}
