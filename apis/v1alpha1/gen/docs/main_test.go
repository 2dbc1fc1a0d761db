package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestGeneratedDocsUpToDate fails when a doc comment changed without
// `go generate ./apis/v1alpha1`.
func TestGeneratedDocsUpToDate(t *testing.T) {
	dir := filepath.Join("..", "..")
	want, err := generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, output))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("%s is stale: run go generate ./apis/v1alpha1", output)
	}
}
