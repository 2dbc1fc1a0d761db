package ansible

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Conditions on facts and groups that a hostSelector can express.
var (
	factCond = regexp.MustCompile(`^(?:ansible_facts\[['"](\w+)['"]\]|ansible_facts\.(\w+)|ansible_(\w+))\s*==\s*['"]([^'"]*)['"]$`)
	// 'web' in group_names
	groupNamesCond = regexp.MustCompile(`^['"]([\w-]+)['"]\s+in\s+group_names$`)
	// inventory_hostname in groups['web']
	groupsCond = regexp.MustCompile(`^inventory_hostname\s+in\s+groups\[['"]([\w-]+)['"]\]$`)
	andSplit   = regexp.MustCompile(`\s+and\s+`)
)

// factKeys maps Ansible fact names to matchFacts keys, with how the value
// is written on the Optimus side.
var factKeys = map[string]struct {
	key   string
	value func(string) (string, bool)
}{
	"distribution":               {"os.id", distributionID},
	"distribution_major_version": {"os.versionId", majorOnly},
	"distribution_version":       {"os.versionId", same},
	"os_family":                  {"os.family", same},
	"architecture":               {"arch", same},
	"machine":                    {"arch", same},
	"kernel":                     {"kernel", same},
	"nodename":                   {"hostname", same},
	"processor_vcpus":            {"cpus", same},
	"memtotal_mb":                {"memoryMB", same},
}

func same(s string) (string, bool) { return s, true }

// majorOnly accepts a major version only: os.versionId is "12" on Debian
// but "22.04" on Ubuntu, where the major version alone does not match.
func majorOnly(s string) (string, bool) { return s, !strings.Contains(s, ".") }

// distributionID is the os-release ID of an Ansible distribution name.
func distributionID(name string) (string, bool) {
	ids := map[string]string{"Debian": "debian", "Ubuntu": "ubuntu", "Fedora": "fedora", "RedHat": "rhel",
		"CentOS": "centos", "Rocky": "rocky", "AlmaLinux": "almalinux", "Alpine": "alpine", "Archlinux": "arch",
		"Amazon": "amzn", "OracleLinux": "ol"}
	id, ok := ids[name]
	return id, ok
}

// splitAnd splits "a and b" into clauses, but only where no or and no
// parenthesis could make the split change the meaning. A list of values in
// parentheses ("x in ('a', 'b')") is no grouping.
func splitAnd(expr string) []string {
	expr = strings.TrimSpace(expr)
	bare := valueList.ReplaceAllString(quoted.ReplaceAllString(expr, "''"), "[]")
	if strings.Contains(bare, " or ") || strings.ContainsAny(bare, "()") {
		return []string{expr}
	}
	return andSplit.Split(expr, -1)
}

// condition turns a task's when into a selector. It returns nil (and ok)
// when the condition is false with the variables known at import, and
// records a skip (not ok) when it cannot be decided or expressed.
func (c *converter) condition(file string, t *yaml.Node, sc scope, sel selector, handler bool, what string) (*selector, scope, bool) {
	w := field(t, "when")
	if w == nil {
		return &sel, sc, true
	}
	var clauses []string
	switch w.Kind {
	case yaml.ScalarNode:
		clauses = splitAnd(w.Value)
	case yaml.SequenceNode:
		for _, e := range w.Content {
			clauses = append(clauses, splitAnd(e.Value)...)
		}
	default:
		c.skip(file, t, handler, what, "when must be a string or a list of strings")
		return nil, sc, false
	}
	out := sel.and(selector{})
	for _, cl := range clauses {
		cl = strings.TrimSpace(cl)
		if fc, isFact, msg := factCondition(cl); isFact {
			if msg != "" {
				c.skip(file, t, handler, what, fmt.Sprintf("when %q: %s", cl, msg))
				return nil, sc, false
			}
			if fc.Operator == "In" && len(fc.Values) == 1 {
				out.facts[fc.Key] = fc.Values[0]
			} else {
				out.exprs = append(out.exprs, fc)
			}
			continue
		}
		if m := groupNamesCond.FindStringSubmatch(cl); m != nil {
			out.labels[GroupLabelPrefix+m[1]] = "true"
			continue
		}
		if m := groupsCond.FindStringSubmatch(cl); m != nil {
			out.labels[GroupLabelPrefix+m[1]] = "true"
			continue
		}
		if missing := unknownNames(cl, sc); len(missing) > 0 {
			c.skip(file, t, handler, what, fmt.Sprintf("when %q cannot be decided at import or written as a hostSelector: it reads %s, which is not a role, play or loop variable (a host variable or fact is only known per host)", cl, strings.Join(missing, ", ")))
			return nil, sc, false
		}
		v, err := sc.cond(cl)
		if err != nil {
			c.skip(file, t, handler, what, fmt.Sprintf("when %q cannot be decided at import or written as a hostSelector: %v", cl, err))
			return nil, sc, false
		}
		if !v {
			c.file.Header = append(c.file.Header, fmt.Sprintf("%s at %s:%d: left out, its when %q is false with the role's variables", what, file, t.Line, cl))
			return nil, sc, true
		}
	}
	return &out, sc, true
}

var (
	quoted     = regexp.MustCompile(`'[^']*'|"[^"]*"`)
	identifier = regexp.MustCompile(`[.|]?\s*\b(is\s+(?:not\s+)?)?([A-Za-z_][A-Za-z0-9_]*)`)
	// jinjaWords are the words of an expression that are not variables.
	jinjaWords = map[string]bool{"and": true, "or": true, "not": true, "is": true, "in": true, "if": true, "else": true,
		"true": true, "false": true, "none": true, "True": true, "False": true, "None": true}
)

// unknownNames lists the variables expr reads that the scope does not
// hold. Jinja2 would call them undefined, so "x is defined" would be
// decided false here for a variable that a host defines.
func unknownNames(expr string, sc scope) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range identifier.FindAllStringSubmatch(quoted.ReplaceAllString(expr, "''"), -1) {
		prefix, name := strings.TrimSpace(m[0][:len(m[0])-len(m[2])]), m[2]
		switch {
		case strings.HasPrefix(prefix, ".") || strings.HasPrefix(prefix, "|") || strings.HasPrefix(prefix, "is"):
			continue // an attribute, a filter or a test
		case jinjaWords[name] || seen[name]:
			continue
		}
		if _, ok := sc[name]; !ok {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}
