package v1alpha1

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/go-version"
)

// Comparison operators: the value of the key, read as a version, compared
// with the requirement's single value.
const (
	SelectorGt SelectorOperator = "Gt"
	SelectorGe SelectorOperator = "Ge"
	SelectorLt SelectorOperator = "Lt"
	SelectorLe SelectorOperator = "Le"
)

// HostRequirement is one condition on a fact or a variable of a host.
//
// In and NotIn compare strings exactly; Exists and DoesNotExist ask whether
// the key has a value (a fact that is empty on the host does not exist).
// Gt, Ge, Lt and Le compare versions: both sides are read as dot-separated
// numbers, segment by segment, so "12" < "12.5" < "13", "3.9" < "3.20" and
// plain integers compare as numbers (memoryMB, cpus). A pre-release suffix
// sorts before its release ("1.2-rc1" < "1.2"). A host whose value is not a
// version (absent, empty, "trixie/sid") never satisfies a comparison.
type HostRequirement struct {
	// Key is the fact (os.versionId) or variable (ssh.port) the requirement reads.
	Key string `json:"key" validate:"required,max=253"`
	// Operator is one of In, NotIn, Exists, DoesNotExist, Gt, Ge, Lt, Le.
	Operator SelectorOperator `json:"operator" validate:"required,oneof=In NotIn Exists DoesNotExist Gt Ge Lt Le"`
	// Values are required for In and NotIn, must be empty for Exists and
	// DoesNotExist, and are exactly one version or number for Gt, Ge, Lt, Le.
	Values []string `json:"values,omitempty"`
}

// holds reports whether a key whose value is got (present says whether it
// has one) satisfies the operator with values.
func (op SelectorOperator) holds(values []string, got string, present bool) bool {
	switch op {
	case SelectorIn:
		return present && slices.Contains(values, got)
	case SelectorNotIn:
		return !present || !slices.Contains(values, got)
	case SelectorExists:
		return present
	case SelectorDoesNotExist:
		return !present
	case SelectorGt, SelectorGe, SelectorLt, SelectorLe:
		if !present || len(values) != 1 {
			return false
		}
		have, err1 := version.NewVersion(got)
		want, err2 := version.NewVersion(values[0])
		if err1 != nil || err2 != nil {
			return false
		}
		c := have.Compare(want)
		switch op {
		case SelectorGt:
			return c > 0
		case SelectorGe:
			return c >= 0
		case SelectorLt:
			return c < 0
		}
		return c <= 0
	}
	return false
}

// checkValues says what is wrong with values for the operator, if anything.
func (op SelectorOperator) checkValues(values []string) error {
	switch op {
	case SelectorIn, SelectorNotIn:
		if len(values) == 0 {
			return fmt.Errorf("operator %s needs at least one value", op)
		}
	case SelectorExists, SelectorDoesNotExist:
		if len(values) != 0 {
			return fmt.Errorf("operator %s takes no values", op)
		}
	case SelectorGt, SelectorGe, SelectorLt, SelectorLe:
		if len(values) != 1 {
			return fmt.Errorf("operator %s compares with exactly one value, not %d", op, len(values))
		}
		if _, err := version.NewVersion(values[0]); err != nil {
			return fmt.Errorf("operator %s compares versions or numbers: %q is neither (write 12, 12.5 or 2048)", op, values[0])
		}
	}
	return nil
}

func (op SelectorOperator) symbol() string {
	switch op {
	case SelectorGt:
		return ">"
	case SelectorGe:
		return ">="
	case SelectorLt:
		return "<"
	case SelectorLe:
		return "<="
	}
	return " " + string(op) + " "
}

// MatchesVars reports whether a host's variables satisfy matchVarExpressions.
func (s *LabelSelector) MatchesVars(vars map[string]any) bool {
	if s == nil {
		return true
	}
	for _, r := range s.MatchVarExpressions {
		got, ok, err := LookupVar(vars, r.Key)
		if !r.Operator.holds(r.Values, got, ok && err == nil) {
			return false
		}
	}
	return true
}

// MatchesHost reports whether the selector chooses h as far as can be known
// before h is observed: its labels and its variables. Facts are matched
// when the host is observed (MatchesFacts).
func (s *LabelSelector) MatchesHost(h *Host) bool {
	if s == nil {
		return true
	}
	var vars map[string]any
	if h.Spec != nil {
		vars = h.Spec.Vars
	}
	return s.Matches(h.Metadata.Labels) && s.MatchesVars(vars)
}

// LookupVar finds a variable by its dotted path (port, ssh.port) and
// renders it as text: strings as they are, numbers without a trailing
// ".0", booleans as true or false. ok is false when the path names
// nothing; err says why a value that exists cannot be text (a mapping or
// a list).
func LookupVar(vars map[string]any, path string) (_ string, ok bool, _ error) {
	var cur any = vars
	for _, part := range strings.Split(path, ".") {
		m, isMap := cur.(map[string]any)
		if !isMap {
			return "", false, nil
		}
		if cur, ok = m[part]; !ok {
			return "", false, nil
		}
	}
	switch v := cur.(type) {
	case nil:
		return "", false, nil
	case string:
		return v, true, nil
	case bool:
		return strconv.FormatBool(v), true, nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true, nil
	case int:
		return strconv.Itoa(v), true, nil
	case int64:
		return strconv.FormatInt(v, 10), true, nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return "", true, fmt.Errorf("is a mapping, not a value: name one of its keys (%s)", strings.Join(keys, ", "))
	case []any:
		return "", true, fmt.Errorf("is a list, not a value")
	}
	return fmt.Sprint(cur), true, nil
}
