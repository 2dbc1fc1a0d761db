package ansible

import (
	"reflect"
	"testing"
)

// TestUnknownNames: a when is decided at import only when every variable it
// reads is known there.
func TestUnknownNames(t *testing.T) {
	sc := scope{"enabled": true, "users": []any{"a"}, "cfg": map[string]any{"x": 1}}
	for _, c := range []struct {
		expr string
		want []string
	}{
		{"enabled", nil},
		{"not enabled", nil},
		{"custom_motd is defined", []string{"custom_motd"}},
		{"enabled and http_port == 80", []string{"http_port"}},
		{"'a' in users", nil},
		{"cfg.x | int > 0", nil},
		{"users | length > 1 and \"quoted_word\" in users", nil},
		{"enabled is not none", nil},
		{"item.name == 'x'", []string{"item"}},
	} {
		if got := unknownNames(c.expr, sc); !reflect.DeepEqual(got, c.want) {
			t.Errorf("unknownNames(%q) = %v, want %v", c.expr, got, c.want)
		}
	}
}
