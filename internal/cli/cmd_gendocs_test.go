package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGenDocs writes the man pages and completions as release builds do:
// every command has a page dated by SOURCE_DATE_EPOCH, the controller's
// state directory default does not name the builder's home, and each
// shell gets a completion script for both binaries.
func TestGenDocs(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000") // November 2023
	t.Setenv("HOME", "/home/builder")
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, nil, "__gendocs", dir); code != 0 {
		t.Fatalf("__gendocs: exit %d: %s", code, stderr)
	}
	read := func(rel string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, page := range []string{"optimus.1", "optimus-apply.1", "optimus-version.1", "optimus-controller.1"} {
		if s := read(filepath.Join("man", "man1", page)); !strings.Contains(s, `"Nov 2023"`) {
			t.Errorf("%s is not dated by SOURCE_DATE_EPOCH:\n%.300s", page, s)
		}
	}
	if s := read("man/man1/optimus-controller.1"); strings.Contains(s, "/home/builder") || !strings.Contains(s, "--probe") {
		t.Errorf("optimus-controller.1 names the builder's home or lacks --probe")
	}
	for _, f := range []string{"optimus.bash", "_optimus", "optimus.fish", "optimus-controller.bash", "_optimus-controller", "optimus-controller.fish"} {
		if s := read(filepath.Join("completions", f)); !strings.Contains(s, "optimus") {
			t.Errorf("completions/%s does not complete optimus", f)
		}
	}
	if code, stdout, _ := runCLI(t, nil, "--help"); code != 0 || strings.Contains(stdout, "__gendocs") {
		t.Errorf("__gendocs shows in help; it is for release builds only")
	}
}
