package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// TestCatchesCommittedBinary adds this test's own compiled executable to a
// fresh repository, beside a large text file and ordinary sources, and
// expects exactly the first two to be named.
func TestCatchesCommittedBinary(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	git(t, dir, "init", "-q")
	files := map[string][]byte{
		"main.go":            []byte("package main\n"),
		"README.md":          []byte("MZ is how this text starts, and it is no program.\n" + strings.Repeat("x", 100)),
		"cmd/tool/tool":      self,
		"testdata/big.txt":   []byte(strings.Repeat("a line of text\n", 100_000)),
		"testdata/small.bin": {0x00, 0x01, 0x02},
	}
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, dir, "add", ".")

	problems, err := checkRepo(dir, 1<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range problems {
		got[p.path] = p.reason
	}
	if len(got) != 2 || !strings.Contains(got["cmd/tool/tool"], "compiled") || !strings.Contains(got["testdata/big.txt"], "over the limit") {
		t.Errorf("problems = %v, want cmd/tool/tool as a compiled binary and testdata/big.txt as too large", problems)
	}

	// An exception is honoured, and only for the path it names.
	problems, err = checkRepo(dir, 1<<20, map[string]string{"testdata/big.txt": "fixture"})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || problems[0].path != "cmd/tool/tool" {
		t.Errorf("with an exception for big.txt: problems = %v, want only cmd/tool/tool", problems)
	}
}

// TestRepositoryIsClean runs the check on this repository itself.
func TestRepositoryIsClean(t *testing.T) {
	problems, err := checkRepo("../..", defaultMaxBytes, allowed)
	if err != nil {
		t.Skipf("not in a git work tree: %v", err)
	}
	for _, p := range problems {
		t.Errorf("%s", p)
	}
}
