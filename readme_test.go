package optimus_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeExampleCompiles builds the Go example of README.md against this
// module, so the example users copy cannot fall behind the API.
func TestReadmeExampleCompiles(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```go\npackage main\n")
	if !ok {
		t.Fatal("README.md has no ```go block with package main")
	}
	src, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("README.md: the Go example's block is not closed")
	}
	// A directory starting with "_" inside the module: `go build ./...`
	// ignores it, naming it builds it with this module's requirements.
	dir, err := os.MkdirTemp(".", "_readme")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n"+src), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "vet", "./"+filepath.Base(dir))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the README's Go example does not build: %v\n%s", err, out)
	}
}
