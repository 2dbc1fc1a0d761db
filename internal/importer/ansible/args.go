package ansible

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// argString is a free-form argument, or the named one of a mapping.
func argString(args *yaml.Node, key string) string {
	if args == nil {
		return ""
	}
	if args.Kind == yaml.ScalarNode {
		return args.Value
	}
	if f := field(args, key); f != nil {
		return f.Value
	}
	return ""
}

// moduleArgs evaluates the module's arguments; a free-form string
// ("name=x state=present", or a command line) is split as Ansible does.
// The args keyword adds to them.
func moduleArgs(args, extra *yaml.Node, sc scope) (map[string]any, error) {
	out := map[string]any{}
	m := map[string]any{}
	if args != nil && args.Kind == yaml.ScalarNode && args.Tag != "!!null" {
		v, err := sc.eval(args.Value)
		if err != nil {
			return nil, err
		}
		out["_raw"] = fmt.Sprint(v)
	} else if args != nil {
		m, _ = decode(args).(map[string]any)
	}
	if extra != nil {
		e, ok := decode(extra).(map[string]any)
		if !ok {
			return nil, fmt.Errorf("args must be a mapping")
		}
		m = scope(m).merged(e)
	}
	for k, v := range m {
		if k == "password" {
			// Never read: it becomes a secret reference.
			out[k] = nil
			continue
		}
		r, err := sc.eval(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", k, err)
		}
		if hasVault(r) {
			return nil, fmt.Errorf("%s uses a vault-encrypted value, which is never written in a manifest: write this resource by hand with a secret source ({env: NAME} or {file: PATH})", k)
		}
		out[k] = r
	}
	return out, nil
}

// hasVault reports whether v holds an ansible-vault ciphertext.
func hasVault(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.Contains(v, "$ANSIBLE_VAULT;")
	case []any:
		for _, e := range v {
			if hasVault(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range v {
			if hasVault(e) {
				return true
			}
		}
	}
	return false
}

// args reads module arguments and refuses any it does not know.
type args struct {
	m    map[string]any
	used map[string]bool
}

func newArgs(m map[string]any) *args {
	if raw, ok := m["_raw"].(string); ok {
		// Free form "name=x state=present"; a command keeps its line.
		fields, err := splitINI(raw)
		if err == nil {
			parsed := map[string]any{}
			for _, f := range fields {
				k, v, ok := strings.Cut(f, "=")
				if !ok {
					parsed = nil
					break
				}
				parsed[k] = iniValue(v)
			}
			if parsed != nil {
				m = parsed
			}
		}
	}
	return &args{m: m, used: map[string]bool{}}
}

func (a *args) str(keys ...string) string {
	for _, k := range keys {
		a.used[k] = true
		if v, ok := a.m[k]; ok && v != nil {
			return fmt.Sprint(v)
		}
	}
	return ""
}

func (a *args) has(k string) bool {
	a.used[k] = true
	_, ok := a.m[k]
	return ok
}

func (a *args) boolean(k string) (bool, bool) {
	a.used[k] = true
	v, ok := a.m[k]
	if !ok {
		return false, false
	}
	return truthy(v), true
}

func (a *args) list(k string) []string {
	a.used[k] = true
	switch v := a.m[k].(type) {
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			out[i] = fmt.Sprint(e)
		}
		return out
	case string:
		var out []string
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	case nil:
		return nil
	}
	return []string{fmt.Sprint(a.m[k])}
}

// ignore marks arguments that change nothing in Optimus.
func (a *args) ignore(keys ...string) {
	for _, k := range keys {
		a.used[k] = true
	}
}

// rest fails on any argument not read.
func (a *args) rest() error {
	var left []string
	for k := range a.m {
		if !a.used[k] {
			left = append(left, k)
		}
	}
	if len(left) == 0 {
		return nil
	}
	if raw, ok := a.m["_raw"]; ok {
		return fmt.Errorf("free-form arguments %q are not all key=value: write them as a mapping", raw)
	}
	sort.Strings(left)
	return fmt.Errorf("argument %s has no Optimus equivalent", strings.Join(left, ", "))
}

// mode writes an Ansible mode as an octal string: 0644, "0644", "644".
func (a *args) mode(spec map[string]any) error {
	a.used["mode"] = true
	v, ok := a.m["mode"]
	if !ok {
		return nil
	}
	switch v := v.(type) {
	case int:
		// YAML read 0644 as octal already.
		spec["mode"] = fmt.Sprintf("%04o", v)
	case string:
		if !regexp.MustCompile(`^0?[0-7]{3,4}$`).MatchString(v) {
			return fmt.Errorf("mode %q: only octal modes convert (symbolic modes such as u+rwx do not)", v)
		}
		spec["mode"] = fmt.Sprintf("%04s", strings.TrimPrefix(v, "0"))
		if len(strings.TrimPrefix(v, "0")) == 4 {
			spec["mode"] = strings.TrimPrefix(v, "0")
		}
	default:
		return fmt.Errorf("mode %v is not an octal mode", v)
	}
	return nil
}

func (a *args) owner(spec map[string]any) {
	if o := a.str("owner"); o != "" {
		spec["owner"] = o
	}
	if g := a.str("group"); g != "" {
		spec["group"] = g
	}
}
