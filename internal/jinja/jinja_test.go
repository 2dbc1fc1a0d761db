package jinja

import (
	"fmt"
	"strings"
	"testing"
)

func TestRenderAnsibleFilters(t *testing.T) {
	vars := map[string]any{
		"port":     8080,
		"names":    []any{"a", "b"},
		"enabled":  "yes",
		"settings": map[string]any{"b": 2, "a": "x"},
		"greeting": "hello world",
	}
	cases := []struct{ src, want string }{
		{"{{ port }}\n", "8080\n"},
		{"{{ missing | default('none') }}", "none"},
		{"{{ names | join(',') }}", "a,b"},
		{"{{ enabled | bool }}", "True"},
		{"{{ 'off' | bool }}", "False"},
		{"{{ greeting | regex_replace('(\\\\w+) (\\\\w+)', '\\\\2 \\\\1') }}", "world hello"},
		{"{{ settings | to_nice_yaml }}", "a: x\nb: 2\n"},
		{"{{ settings | to_json }}", `{"a":"x","b":2}`},
		{"{{ '/etc/app/app.conf' | basename }} {{ '/etc/app/app.conf' | dirname }}", "app.conf /etc/app"},
		{"{{ (port > 80) | ternary('high', 'low') }}", "high"},
		{"{% for n in names %}\n{{ n }}\n{% endfor %}\n", "a\nb\n"},
		{"{{ \"it's\" | quote }}", `'it'"'"'s'`},
	}
	for _, c := range cases {
		tmpl, err := Parse(c.src)
		if err != nil {
			t.Errorf("%q: parse: %v", c.src, err)
			continue
		}
		got, err := tmpl.Render(vars)
		if err != nil {
			t.Errorf("%q: render: %v", c.src, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("%q rendered %q, want %q", c.src, got, c.want)
		}
	}
}

func TestParseRefusesUnknownFilterWithLine(t *testing.T) {
	_, err := Parse("line one\n{{ x }}\n{{ x | no_such_filter }}\n")
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), `unknown filter "no_such_filter"`) {
		t.Fatalf("got %v, want unknown filter at line 3", err)
	}
	_, err = Parse("a\n{% if x is frobnicated %}y{% endif %}")
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), `unknown test "frobnicated"`) {
		t.Fatalf("got %v, want unknown test at line 2", err)
	}
	_, err = Parse("ok\n{{ x | }}\n")
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("got %v, want a syntax error at line 2", err)
	}
}

func TestParseRefusesWhatOneFileCannotDo(t *testing.T) {
	for src, want := range map[string]string{
		"x\n{% include 'other.j2' %}":        `line 2: include is not supported`,
		"{% import 'm.j2' as m %}":           `line 1: import is not supported`,
		"{% from 'm.j2' import f %}":         `line 1: from ... import is not supported`,
		"a\nb\n{{ lookup('file', '/x') }}":   `line 3: unknown function "lookup"`,
		"{{ query('inventory_hostnames') }}": `unknown function "query"`,
	} {
		if _, err := Parse(src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want %s", src, err, want)
		}
	}
	// Macros and the built-in functions are callable.
	tmpl, err := Parse("{% macro m(x) %}<{{ x }}>{% endmacro %}{{ m(1) }}{% for i in range(2) %}{{ i }}{% endfor %}")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := tmpl.Render(map[string]any{}); err != nil || string(out) != "<1>01" {
		t.Errorf("rendered %q, %v", out, err)
	}
}

func TestRenderUndefinedIsAnError(t *testing.T) {
	tmpl, err := Parse("{{ nope }}")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmpl.Render(map[string]any{}); err == nil {
		t.Fatal("an undefined variable rendered")
	}
}

// TestRenderConcurrently: hosts are planned in parallel, each rendering
// its own templates against the shared environment.
func TestRenderConcurrently(t *testing.T) {
	tmpl, err := Parse("{% for x in xs %}{{ x | upper }}{% endfor %} {{ n | default(0) }}")
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			for range 50 {
				if _, err := Parse("{{ a | to_json }}"); err != nil {
					errs <- err
					return
				}
				out, err := tmpl.Render(map[string]any{"xs": []any{"a", "b"}, "n": i})
				if err != nil || string(out) != "AB "+string(rune('0'+i)) {
					errs <- fmt.Errorf("%q, %v", out, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
