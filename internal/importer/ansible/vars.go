package ansible

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/optimus-cm/optimus/internal/jinja"
)

// scope is the variables known when a task is converted: role defaults and
// vars, play vars, task vars and the loop item. Host variables and facts
// are not known: an expression that needs them cannot be decided here.
type scope map[string]any

func (s scope) with(k string, v any) scope {
	out := make(scope, len(s)+1)
	for key, val := range s {
		out[key] = val
	}
	out[k] = v
	return out
}

func (s scope) merged(vars map[string]any) scope {
	out := make(scope, len(s)+len(vars))
	for k, v := range s {
		out[k] = v
	}
	for k, v := range vars {
		out[k] = v
	}
	return out
}

// wholeExpr is a string that is one expression, "{{ users }}", which
// Ansible evaluates to the value itself (a list stays a list).
var wholeExpr = regexp.MustCompile(`^\{\{(.*)\}\}$`)

// eval resolves the templates inside v with the scope: strings are
// rendered, lists and maps recursively. A string that is one expression
// keeps the type of its value.
func (s scope) eval(v any) (any, error) {
	switch v := v.(type) {
	case string:
		if !strings.Contains(v, "{{") && !strings.Contains(v, "{%") {
			return v, nil
		}
		if m := wholeExpr.FindStringSubmatch(v); m != nil && !strings.Contains(m[1], "}}") {
			return s.native(m[1])
		}
		return s.render(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			r, err := s.eval(e)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			r, err := s.eval(e)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

func (s scope) render(src string) (string, error) {
	t, err := jinja.Parse(src)
	if err != nil {
		return "", err
	}
	b, err := t.Render(s.resolved())
	if err != nil {
		return "", unknownVar(err)
	}
	return string(b), nil
}

// native evaluates one expression to its value, through JSON.
func (s scope) native(expr string) (any, error) {
	out, err := s.render("{{ (" + expr + ") | to_json }}")
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return nil, err
	}
	return normalize(v), nil
}

// cond evaluates a when condition with the scope; it fails when the
// condition needs what only a host knows.
func (s scope) cond(expr string) (value bool, err error) {
	out, err := s.render("{% if " + expr + " %}1{% else %}0{% endif %}")
	if err != nil {
		return false, err
	}
	return out == "1", nil
}

// resolved renders the scope's own templates (defaults that refer to other
// defaults), a few rounds deep.
func (s scope) resolved() map[string]any {
	out := map[string]any(s)
	for range 4 {
		changed := false
		next := make(map[string]any, len(out))
		for k, v := range out {
			next[k] = v
			str, ok := v.(string)
			if !ok || !strings.Contains(str, "{{") {
				continue
			}
			if t, err := jinja.Parse(str); err == nil {
				if b, err := t.Render(out); err == nil {
					next[k], changed = string(b), true
				}
			}
		}
		out = next
		if !changed {
			break
		}
	}
	return out
}

var undefinedRe = regexp.MustCompile(`(?i)unable to evaluate name "([^"]+)"`)

// unknownVar names the variable an expression needed.
func unknownVar(err error) error {
	if m := undefinedRe.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("uses %s, which is not a role, play or loop variable (a host variable or fact is only known per host)", m[1])
	}
	return err
}

// normalize turns JSON numbers that are integers into ints.
func normalize(v any) any {
	switch v := v.(type) {
	case float64:
		if v == float64(int(v)) {
			return int(v)
		}
	case []any:
		for i := range v {
			v[i] = normalize(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = normalize(v[k])
		}
	}
	return v
}
