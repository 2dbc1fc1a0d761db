package v1alpha1

import (
	"fmt"
	"sort"
	"strings"
)

// LabelSelector chooses hosts by their labels with Kubernetes semantics: every
// matchLabels pair and every matchExpressions requirement must hold. An empty
// selector matches every host.
type LabelSelector struct {
	// MatchLabels requires each key to have exactly this value.
	MatchLabels map[string]string `json:"matchLabels,omitempty" validate:"dive,keys,labelkey,endkeys,max=63"`
	// MatchExpressions are requirements on label keys.
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty" validate:"dive"`
	// MatchFacts requires each fact of the host, as found when it is
	// observed, to have exactly this value, so that one manifest set serves
	// several distributions: "matchFacts: {os.id: debian}". Keys: os.id,
	// os.versionId, os.name, os.idLike, os.family, arch, kernel, cpus,
	// memoryMB, hostname.
	MatchFacts map[string]string `json:"matchFacts,omitempty"`
	// MatchFactExpressions are requirements on the host's facts, with the
	// operators of matchExpressions plus the comparisons Gt, Ge, Lt and Le:
	// "{key: os.versionId, operator: Ge, values: ['12']}". Keys as matchFacts.
	MatchFactExpressions []HostRequirement `json:"matchFactExpressions,omitempty" validate:"dive"`
	// MatchVarExpressions are requirements on the host's variables (its
	// vars merged with its HostGroup's and the GroupVars that select it),
	// known when the manifests are loaded: "{key: fail2ban, operator: In,
	// values: ['true']}". A dotted key reads into a mapping: ssh.port.
	MatchVarExpressions []HostRequirement `json:"matchVarExpressions,omitempty" validate:"dive"`
}

// HasFacts reports whether the selector needs the host's facts.
func (s *LabelSelector) HasFacts() bool {
	return s != nil && (len(s.MatchFacts) > 0 || len(s.MatchFactExpressions) > 0)
}

// MatchesFacts reports whether facts satisfy matchFacts. Labels are
// matched separately (Matches), before the facts are known.
func (s *LabelSelector) MatchesFacts(facts *HostFacts) bool {
	if !s.HasFacts() {
		return true
	}
	if facts == nil {
		return false
	}
	for k, want := range s.MatchFacts {
		if got, ok := facts.Fact(k); !ok || got != want {
			return false
		}
	}
	for _, r := range s.MatchFactExpressions {
		got, ok := facts.Fact(r.Key)
		if !r.Operator.holds(r.Values, got, ok && got != "") {
			return false
		}
	}
	return true
}

// Check refuses matchFacts keys that are not facts.
func (s *LabelSelector) Check() []FieldError {
	var errs []FieldError
	keys := make([]string, 0, len(s.MatchFacts))
	for k := range s.MatchFacts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := factKeys[k]; !ok {
			errs = append(errs, FieldError{Path: "matchFacts[" + k + "]", Message: "unknown fact: use one of " + strings.Join(FactKeys(), ", ")})
		}
	}
	for i, r := range s.MatchFactExpressions {
		at := fmt.Sprintf("matchFactExpressions[%d]", i)
		if _, ok := factKeys[r.Key]; !ok {
			errs = append(errs, FieldError{Path: at + ".key", Message: fmt.Sprintf("unknown fact %q: use one of %s", r.Key, strings.Join(FactKeys(), ", "))})
		}
		if err := r.Operator.checkValues(r.Values); err != nil {
			errs = append(errs, FieldError{Path: at + ".values", Message: err.Error()})
		}
	}
	for i, r := range s.MatchVarExpressions {
		if err := r.Operator.checkValues(r.Values); err != nil {
			errs = append(errs, FieldError{Path: fmt.Sprintf("matchVarExpressions[%d].values", i), Message: err.Error()})
		}
	}
	return errs
}

// LabelSelectorRequirement is one requirement of a LabelSelector.
type LabelSelectorRequirement struct {
	// Key is the label key the requirement applies to.
	Key string `json:"key" validate:"required,labelkey"`
	// Operator is one of In, NotIn, Exists, DoesNotExist, or a comparison:
	// Gt, Ge, Lt, Le (see HostRequirement).
	Operator SelectorOperator `json:"operator" validate:"required,oneof=In NotIn Exists DoesNotExist Gt Ge Lt Le"`
	// Values are required for In and NotIn, must be empty for Exists and
	// DoesNotExist, and are one number or version for a comparison.
	Values []string `json:"values,omitempty"`
}

// SelectorOperator relates a label key to values.
type SelectorOperator string

// Selector operators.
const (
	SelectorIn           SelectorOperator = "In"
	SelectorNotIn        SelectorOperator = "NotIn"
	SelectorExists       SelectorOperator = "Exists"
	SelectorDoesNotExist SelectorOperator = "DoesNotExist"
)

// Matches reports whether labels satisfy the selector's matchLabels and
// matchExpressions. A nil selector matches everything. Facts and variables
// are matched by MatchesFacts and MatchesVars.
func (s *LabelSelector) Matches(labels map[string]string) bool {
	if s == nil {
		return true
	}
	for k, v := range s.MatchLabels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	for _, r := range s.MatchExpressions {
		v, ok := labels[r.Key]
		if !r.Operator.holds(r.Values, v, ok) {
			return false
		}
	}
	return true
}

// Check reports the first semantic problem validator tags cannot express:
// values present or missing for the operator.
func (r LabelSelectorRequirement) Check() error { return r.Operator.checkValues(r.Values) }

// ParseSelector parses the kubectl -l syntax: "role=web,env!=prod,tier in (a,b),!legacy,gpu".
func ParseSelector(s string) (*LabelSelector, error) {
	sel := &LabelSelector{}
	s = strings.TrimSpace(s)
	if s == "" {
		return sel, nil
	}
	for _, part := range splitSelector(s) {
		part = strings.TrimSpace(part)
		switch {
		case part == "":
			return nil, fmt.Errorf("selector %q: empty requirement", s)
		case strings.Contains(part, " in ") || strings.Contains(part, " notin "):
			op, sep := SelectorIn, " in "
			if strings.Contains(part, " notin ") {
				op, sep = SelectorNotIn, " notin "
			}
			key, rest, _ := strings.Cut(part, sep)
			rest = strings.TrimSpace(rest)
			if !strings.HasPrefix(rest, "(") || !strings.HasSuffix(rest, ")") {
				return nil, fmt.Errorf("selector %q: values of %q must be in parentheses", s, strings.TrimSpace(key))
			}
			var vals []string
			for _, v := range strings.Split(rest[1:len(rest)-1], ",") {
				vals = append(vals, strings.TrimSpace(v))
			}
			sel.MatchExpressions = append(sel.MatchExpressions, LabelSelectorRequirement{Key: strings.TrimSpace(key), Operator: op, Values: vals})
		case strings.Contains(part, "!="):
			k, v, _ := strings.Cut(part, "!=")
			sel.MatchExpressions = append(sel.MatchExpressions, LabelSelectorRequirement{Key: strings.TrimSpace(k), Operator: SelectorNotIn, Values: []string{strings.TrimSpace(v)}})
		case strings.Contains(part, "="):
			k, v, _ := strings.Cut(strings.Replace(part, "==", "=", 1), "=")
			if sel.MatchLabels == nil {
				sel.MatchLabels = map[string]string{}
			}
			sel.MatchLabels[strings.TrimSpace(k)] = strings.TrimSpace(v)
		case strings.HasPrefix(part, "!"):
			sel.MatchExpressions = append(sel.MatchExpressions, LabelSelectorRequirement{Key: strings.TrimSpace(part[1:]), Operator: SelectorDoesNotExist})
		default:
			sel.MatchExpressions = append(sel.MatchExpressions, LabelSelectorRequirement{Key: part, Operator: SelectorExists})
		}
	}
	return sel, nil
}

// splitSelector splits on commas outside parentheses.
func splitSelector(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

// String renders the selector in kubectl -l syntax.
func (s *LabelSelector) String() string {
	if s == nil {
		return ""
	}
	var parts []string
	keys := make([]string, 0, len(s.MatchLabels))
	for k := range s.MatchLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+"="+s.MatchLabels[k])
	}
	for _, r := range s.MatchExpressions {
		switch r.Operator {
		case SelectorIn:
			parts = append(parts, r.Key+" in ("+strings.Join(r.Values, ",")+")")
		case SelectorNotIn:
			parts = append(parts, r.Key+" notin ("+strings.Join(r.Values, ",")+")")
		case SelectorExists:
			parts = append(parts, r.Key)
		case SelectorDoesNotExist:
			parts = append(parts, "!"+r.Key)
		default:
			parts = append(parts, r.Key+r.Operator.symbol()+strings.Join(r.Values, ","))
		}
	}
	return strings.Join(parts, ",")
}
