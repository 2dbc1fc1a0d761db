package ansible

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

// parseINI reads the INI format: [group], [group:vars], [group:children]
// sections, and host lines with key=value variables.
func (inv *Inventory) parseINI(file string, b []byte) error {
	section, kind := "ungrouped", "hosts"
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		pos := Pos{file, line}
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";") {
			continue
		}
		if strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]") {
			section, kind = l[1:len(l)-1], "hosts"
			if n, k, ok := strings.Cut(section, ":"); ok {
				section, kind = n, k
			}
			if kind != "hosts" && kind != "vars" && kind != "children" {
				return fmt.Errorf("%s: unknown section kind %q: use [group], [group:vars] or [group:children]", pos, kind)
			}
			inv.group(section, pos)
			continue
		}
		switch kind {
		case "vars":
			k, v, ok := strings.Cut(l, "=")
			if !ok {
				return fmt.Errorf("%s: in [%s:vars], expected key=value, got %q", pos, section, l)
			}
			inv.group(section, pos).Vars[strings.TrimSpace(k)] = Var{Value: iniValue(strings.TrimSpace(v)), Pos: pos}
		case "children":
			inv.addChild(section, strings.Fields(l)[0], pos)
		default:
			fields, err := splitINI(l)
			if err != nil {
				return fmt.Errorf("%s: %v", pos, err)
			}
			names, err := expandRange(fields[0])
			if err != nil {
				return fmt.Errorf("%s: %v", pos, err)
			}
			for _, name := range names {
				h := inv.addHost(section, name, pos)
				for _, f := range fields[1:] {
					k, v, ok := strings.Cut(f, "=")
					if !ok {
						return fmt.Errorf("%s: host %s: expected key=value, got %q", pos, name, f)
					}
					h.Vars[k] = Var{Value: iniValue(v), Pos: pos}
				}
			}
		}
	}
	return sc.Err()
}

// splitINI splits a host line at blanks outside quotes, removing the quotes.
func splitINI(l string) ([]string, error) {
	var out []string
	var cur strings.Builder
	var quote rune
	in := false
scan:
	for _, c := range l {
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(c)
		case c == '"' || c == '\'':
			quote, in = c, true
		case c == '#' && !in:
			break scan // a comment starts where a field could
		case c == ' ' || c == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", l)
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}

// iniValue reads a value as Ansible does: a number or a boolean when it
// reads as one, a string otherwise.
func iniValue(v string) any {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	if i, err := strconv.Atoi(v); err == nil {
		return i
	}
	switch v {
	case "True", "true", "yes":
		return true
	case "False", "false", "no":
		return false
	}
	return v
}
