package v1alpha1

// GroupVarsSpec gives variables to every Host its selector chooses, the
// way a fleet keeps them per group: the web servers' port, the
// production hosts' mail relay. A host's variables are, lowest first:
// the GroupVars that select it, by priority then by name (a higher
// priority wins, and between equal priorities the name that sorts last
// wins), then its HostGroup's template vars, then its own vars (a Host's
// spec.vars or a HostGroup member's vars). Merging is by top-level key:
// a mapping given twice is replaced whole, not merged.
type GroupVarsSpec struct {
	// HostSelector chooses the hosts by their labels (matchLabels,
	// matchExpressions). Facts are not known when variables are merged, and
	// variables cannot choose variables: matchFacts, matchFactExpressions
	// and matchVarExpressions are refused. Absent: every host.
	HostSelector *LabelSelector `json:"hostSelector,omitempty"`
	// Priority orders GroupVars that set the same variable: the higher
	// wins. Default 0.
	Priority int `json:"priority,omitempty" validate:"min=-1000,max=1000"`
	// Vars are the variables, as free-form as a Host's vars.
	Vars map[string]any `json:"vars" validate:"required,min=1"`
}

var _ Checker = &GroupVarsSpec{}

// Check refuses selectors that need facts or variables.
func (s *GroupVarsSpec) Check() []FieldError {
	if sel := s.HostSelector; sel != nil && (sel.HasFacts() || len(sel.MatchVarExpressions) > 0) {
		return []FieldError{{Path: "hostSelector", Message: "variables are merged before hosts are observed and cannot depend on variables: select hosts by labels (matchLabels, matchExpressions) only"}}
	}
	return nil
}

// GroupVarsKind is the kind that gives variables to a group of hosts.
var GroupVarsKind = kind[GroupVarsSpec]("GroupVars", "Variables for every Host a selector chooses, merged under the hosts' own vars.")
