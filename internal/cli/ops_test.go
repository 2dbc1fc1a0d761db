package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetName(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "webfleet")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "app.yaml")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "has space")
	tests := []struct {
		name    string
		flags   setFlags
		files   []string
		want    string // "" when no inventory is kept
		wantErr string
	}{
		{"first directory", setFlags{}, []string{dir, "/elsewhere"}, "webfleet", ""},
		{"directory of a file", setFlags{}, []string{file}, "webfleet", ""},
		{"explicit", setFlags{set: "prod"}, []string{dir}, "prod", ""},
		{"stdin keeps none", setFlags{}, []string{"-"}, "", ""},
		{"stdin with a name", setFlags{set: "piped"}, []string{"-"}, "piped", ""},
		{"stdin cannot prune unnamed", setFlags{prune: true}, []string{"-"}, "", "pass --set NAME"},
		{"bad explicit name", setFlags{set: "../x"}, []string{dir}, "", "--set: set name"},
		{"bad directory name", setFlags{}, []string{bad}, "", "named after the first -f directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := tt.flags.inventory(Config{}, tt.files)
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case tt.want == "" && inv != nil:
				t.Fatalf("inventory %q kept", inv.Set)
			case tt.want != "" && (inv == nil || inv.Set != tt.want || inv.Prune != tt.flags.prune):
				t.Fatalf("inventory %+v, want set %q", inv, tt.want)
			}
		})
	}
}
