package jinja

import (
	"fmt"
	"strings"
	"testing"
)

func TestVariables(t *testing.T) {
	cases := []struct{ src, want string }{
		{"plain text\n", ""},
		{"{{ port }}\n", "port:1"},
		{"a\n{{ b.c }} {{ d['e'] }}\n{{ b }}\n", "b:2 d:2"},
		{"{{ x | default('none') }} {{ y.z | d(1) }} {{ q | default(fallback) }}", "fallback:1"},
		{"{% if x is defined %}{{ x }}{% endif %}\n{% if y is not undefined %}{{ y.a }}{% endif %}", ""},
		{"{% for p in pkgs | sort %}\n{{ p | upper }} {{ loop.index }}\n{% endfor %}", "pkgs:1"},
		{"{% for k, v in settings.items() %}{{ k }}={{ v }}{% endfor %}", "settings:1"},
		{"{% set n = a + 1 %}{{ n }}", "a:1"},
		{"{% set ns = namespace(found=false) %}{% set ns.found = true %}{{ ns.found }}", ""},
		{"{% with w = outer %}{{ w }}{% endwith %}", "outer:1"},
		{"{% macro m(p, q=dflt) %}{{ p }}{{ q }}{{ inner }}{% endmacro %}\n{{ m(arg) }}", "dflt:1 inner:1 arg:2"},
		{"{{ range(3) | join(',') }} {{ true }} {{ None }}", ""},
		{"{{ a if cond else b }}", "a:1 b:1 cond:1"},
		{"{{ items | map(attribute='name') | select('in', allowed) | list }}", "allowed:1 items:1"},
	}
	for _, c := range cases {
		tmpl, err := Parse(c.src)
		if err != nil {
			t.Errorf("%q: parse: %v", c.src, err)
			continue
		}
		var got []string
		for _, v := range tmpl.Variables() {
			got = append(got, fmt.Sprintf("%s:%d", v.Name, v.Line))
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("%q: variables %q, want %q", c.src, g, c.want)
		}
	}
}
