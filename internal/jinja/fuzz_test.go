package jinja

import (
	"strings"
	"testing"
)

// FuzzVariables: whatever Parse accepts, Variables walks without a panic
// and names each variable once, at a line of the source.
func FuzzVariables(f *testing.F) {
	for _, s := range []string{
		"{{ a.b | default(c) }}\n{% for k, v in d.items() if v %}{{ k }}{% else %}{{ e }}{% endfor %}",
		"{% set ns = namespace(x=1) %}{% set ns.x = y %}{% with z = w %}{{ z }}{% endwith %}",
		"{% macro m(p, q=r) %}{{ caller() }}{% endmacro %}{% call m(s) %}t{% endcall %}{% filter upper %}{{ u }}{% endfilter %}",
		"{% if v is defined and v is not undefined %}{{ v[0] }}{% endif %}{{ x if y else z }}{% raw %}{{ no }}{% endraw %}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		tmpl, err := Parse(src)
		if err != nil {
			return
		}
		lines := strings.Count(src, "\n") + 1
		seen := map[string]bool{}
		for _, v := range tmpl.Variables() {
			if seen[v.Name] || v.Name == "" || v.Line < 1 || v.Line > lines {
				t.Fatalf("%q: variable %+v (lines: %d, seen: %v)", src, v, lines, seen[v.Name])
			}
			seen[v.Name] = true
		}
	})
}
