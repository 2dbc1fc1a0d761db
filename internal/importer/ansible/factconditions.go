package ansible

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Fact conditions beyond ==: !=, in and not in lists, or between tests of
// one fact, and comparisons of versions, each made one matchFacts entry or
// one matchFactExpressions requirement.
var (
	factRef = `(?:ansible_facts\[['"](\w+)['"]\]|ansible_facts\.(\w+)|ansible_(\w+))`
	// ansible_os_family != 'Debian'
	factNotEq = regexp.MustCompile(`^` + factRef + `\s*!=\s*['"]([^'"]*)['"]$`)
	// ansible_distribution in ['Debian', 'Ubuntu'], not in ('a', 'b')
	factIn = regexp.MustCompile(`^` + factRef + `\s+(not\s+in|in)\s*([\[(][^\])]*[\])])$`)
	// ansible_distribution_major_version | int >= 12, ... >= '12'
	factCmp = regexp.MustCompile(`^` + factRef + `\s*(?:\|\s*int\s*)?(>=|<=|>|<)\s*['"]?(\d+(?:\.\d+)*)['"]?$`)
	// ansible_distribution_version is version('12.5', '>=')
	factVersionTest = regexp.MustCompile(`^` + factRef + `\s+is\s+version(?:_compare)?\(\s*['"]([\d.]+)['"]\s*,\s*['"](>=|<=|>|<|==|!=|ge|le|gt|lt|eq|ne)['"]\s*\)$`)
	// the quoted items of a list
	valueList = regexp.MustCompile(`[\[(]\s*(?:'[^']*'|"[^"]*"|\s|,)*[\])]`)
	orSplit   = regexp.MustCompile(`\s+or\s+`)
)

// versionOps are the Optimus comparison operators of Ansible's.
var versionOps = map[string]string{">=": "Ge", "ge": "Ge", ">": "Gt", "gt": "Gt", "<=": "Le", "le": "Le", "<": "Lt", "lt": "Lt",
	"==": "In", "eq": "In", "!=": "NotIn", "ne": "NotIn"}

// factCondition reads cl as a condition on one fact. isFact is false when
// cl is about something else; msg says why a condition on a fact cannot be
// written as a selector.
func factCondition(cl string) (_ factExpr, isFact bool, msg string) {
	var alts []string
	if strings.Contains(cl, " or ") && !strings.ContainsAny(valueList.ReplaceAllString(quoted.ReplaceAllString(cl, "''"), "[]"), "()") {
		alts = orSplit.Split(cl, -1)
	} else {
		alts = []string{cl}
	}
	var out factExpr
	for i, alt := range alts {
		e, isFact, msg := oneFactCondition(strings.TrimSpace(alt))
		switch {
		case !isFact && i == 0:
			return factExpr{}, false, ""
		case !isFact:
			return factExpr{}, true, fmt.Sprintf("%q is not a test of a fact; a selector cannot say or between different conditions", alt)
		case msg != "":
			return factExpr{}, true, msg
		case i == 0:
			out = e
		case e.Key != out.Key || e.Operator != "In" || out.Operator != "In":
			return factExpr{}, true, "or is written as a selector only between == or in tests of one fact (a selector requires all its conditions)"
		default:
			for _, v := range e.Values {
				if !slices.Contains(out.Values, v) {
					out.Values = append(out.Values, v)
				}
			}
		}
	}
	return out, true, ""
}

// oneFactCondition reads a condition without or.
func oneFactCondition(cl string) (_ factExpr, isFact bool, msg string) {
	var fact, op string
	var values []string
	if m := factCond.FindStringSubmatch(cl); m != nil {
		fact, op, values = m[1]+m[2]+m[3], "In", []string{m[4]}
	} else if m := factNotEq.FindStringSubmatch(cl); m != nil {
		fact, op, values = m[1]+m[2]+m[3], "NotIn", []string{m[4]}
	} else if m := factIn.FindStringSubmatch(cl); m != nil {
		fact, op = m[1]+m[2]+m[3], "In"
		if strings.HasPrefix(m[4], "not") {
			op = "NotIn"
		}
		for _, q := range quoted.FindAllString(m[5], -1) {
			values = append(values, q[1:len(q)-1])
		}
		if rest := quoted.ReplaceAllString(m[5][1:len(m[5])-1], ""); strings.Trim(rest, " ,") != "" {
			return factExpr{}, true, "only a list of quoted values can be written as a selector"
		}
		if len(values) == 0 {
			return factExpr{}, true, "the list is empty"
		}
	} else if m := factCmp.FindStringSubmatch(cl); m != nil {
		fact, op, values = m[1]+m[2]+m[3], versionOps[m[4]], []string{m[5]}
	} else if m := factVersionTest.FindStringSubmatch(cl); m != nil {
		fact, op, values = m[1]+m[2]+m[3], versionOps[m[5]], []string{m[4]}
	} else {
		return factExpr{}, false, ""
	}
	fk, ok := factKeys[fact]
	if !ok {
		return factExpr{}, true, fmt.Sprintf("the fact %s has no Optimus fact (os.id, os.versionId, os.family, arch, kernel, hostname, cpus, memoryMB)", fact)
	}
	compare := op != "In" && op != "NotIn"
	if compare {
		return comparison(fact, fk.key, op, values[0])
	}
	for i, v := range values {
		ov, ok := fk.value(v)
		if !ok {
			return factExpr{}, true, fmt.Sprintf("%q cannot be matched exactly by the fact %s", v, fk.key)
		}
		values[i] = ov
	}
	return factExpr{Key: fk.key, Operator: op, Values: values}, true, ""
}

// comparison writes a version comparison on fact. A major version compares
// with os.versionId, which may carry a minor ("22.04"), so only the bounds
// that mean the same on both are used: major > 11 is versionId >= 12 and
// major <= 12 is versionId < 13.
func comparison(fact, key, op, value string) (factExpr, bool, string) {
	switch fact {
	case "distribution_major_version":
		n, err := strconv.Atoi(value)
		if err != nil {
			return factExpr{}, true, fmt.Sprintf("a major version is a whole number, not %q", value)
		}
		switch op {
		case "Gt":
			op, n = "Ge", n+1
		case "Le":
			op, n = "Lt", n+1
		}
		value = strconv.Itoa(n)
	case "distribution_version", "processor_vcpus", "memtotal_mb", "kernel":
	default:
		return factExpr{}, true, fmt.Sprintf("the fact %s is not a version or a number to compare", fact)
	}
	return factExpr{Key: key, Operator: op, Values: []string{value}}, true, ""
}
