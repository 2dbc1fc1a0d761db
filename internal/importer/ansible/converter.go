package ansible

import (
	"fmt"
	"path/filepath"
)

// converter turns the tasks of one role or play into resources of one
// output file.
type converter struct {
	file *File
	res  *Result
	// selector applies to every resource: the play's hosts and the task's when.
	selector selector
	// roleDir is where files/ and templates/ are looked up.
	roleDir string
	// byName finds resources already made, to merge duplicates.
	byName map[string]*Resource
	// notifiers maps a handler name (or listen topic) to the resources
	// that notify it.
	notifiers map[string][]*Resource
	// notifiedAt is where each topic was first notified; consumed, the
	// topics a converted handler took.
	notifiedAt map[string]Pos
	consumed   map[string]bool
	// order is every resource made, in task order.
	order []*Resource
	// defaults and overrides are the role's and play's variables, which
	// Jinja2 templates read on the hosts: defaults lose to inventory
	// variables, overrides (role vars, play vars) win over them.
	defaults, overrides map[string]any
	// included are the variables include_vars loaded, which every later
	// task sees, as in Ansible.
	included scope
}

func newConverter(res *Result, f *File, sel selector, dir string) *converter {
	return &converter{file: f, res: res, selector: sel, roleDir: dir, byName: map[string]*Resource{},
		notifiers: map[string][]*Resource{}, notifiedAt: map[string]Pos{}, consumed: map[string]bool{}}
}

// selector is a hostSelector under construction.
type selector struct {
	labels map[string]string
	facts  map[string]string
	// exprs are matchFactExpressions: conditions matchFacts cannot say
	// (In, NotIn, comparisons).
	exprs []factExpr
}

// factExpr is one matchFactExpressions requirement.
type factExpr struct {
	Key      string
	Operator string
	Values   []string
}

func (s selector) and(o selector) selector {
	out := selector{labels: map[string]string{}, facts: map[string]string{}}
	for _, m := range []map[string]string{s.labels, o.labels} {
		for k, v := range m {
			out.labels[k] = v
		}
	}
	for _, m := range []map[string]string{s.facts, o.facts} {
		for k, v := range m {
			out.facts[k] = v
		}
	}
	out.exprs = append(append([]factExpr(nil), s.exprs...), o.exprs...)
	return out
}

func (s selector) spec() map[string]any {
	out := map[string]any{}
	if len(s.labels) > 0 {
		out["matchLabels"] = s.labels
	}
	if len(s.facts) > 0 {
		out["matchFacts"] = s.facts
	}
	if len(s.exprs) > 0 {
		var exprs []any
		for _, e := range s.exprs {
			m := map[string]any{"key": e.Key, "operator": e.Operator}
			if len(e.Values) > 0 {
				vals := make([]any, len(e.Values))
				for i, v := range e.Values {
					vals[i] = v
				}
				m["values"] = vals
			}
			exprs = append(exprs, m)
		}
		out["matchFactExpressions"] = exprs
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// add records r; a resource of the same kind and name from another task
// is merged when the specs agree, renamed otherwise.
func (c *converter) add(r *Resource) *Resource {
	key := r.Kind + "/" + r.Name
	if prev, ok := c.byName[key]; ok {
		if fmt.Sprint(prev.Spec) == fmt.Sprint(r.Spec) {
			return prev
		}
		for i := 2; ; i++ {
			name := fmt.Sprintf("%s-%d", r.Name, i)
			if _, taken := c.byName[r.Kind+"/"+name]; !taken {
				r.Comments = append(r.Comments, "note: renamed from "+r.Name+", which another task already defines differently")
				r.Name = name
				key = r.Kind + "/" + name
				break
			}
		}
	}
	c.byName[key] = r
	c.order = append(c.order, r)
	c.file.Resources = append(c.file.Resources, r)
	return r
}

// finish records the role's variables for its templates, and orders each
// Exec after the resources converted before it, as the tasks ran in order.
func (c *converter) finish() {
	templates := false
	for _, r := range c.order {
		if _, ok := r.Spec["template"]; ok {
			templates = true
		}
	}
	if templates && len(c.defaults)+len(c.overrides) > 0 {
		c.res.TemplateVars = append(c.res.TemplateVars, TemplateVars{From: c.file.Name, selector: c.selector,
			Defaults: c.defaults, Overrides: c.overrides})
	}
	c.orderExecs()
	c.noteOwnedDirectories()
	for _, topic := range sortedKeys(c.notifiedAt) {
		if !c.consumed[topic] {
			c.file.Skipped = append(c.file.Skipped, Skipped{Unit: "notification", Pos: c.notifiedAt[topic], What: "notify " + topic,
				Why: "no converted handler of this role or play answers it (a handler of another role is not followed): add restartOn by hand"})
		}
	}
}

// noteOwnedDirectories warns about a file written, without an owner, into
// a directory the role gives to another user: Optimus creates it as that
// user (it never writes as root where another user could swap the path),
// where Ansible created it as root.
func (c *converter) noteOwnedDirectories() {
	owners := map[string]string{}
	for _, r := range c.order {
		if r.Kind == "Directory" {
			if o, _ := r.Spec["owner"].(string); o != "" && o != "root" {
				owners[fmt.Sprint(r.Spec["path"])] = o
			}
		}
	}
	for _, r := range c.order {
		if r.Kind != "File" || r.Spec["owner"] != nil || r.Spec["state"] == "absent" {
			continue
		}
		if o, ok := owners[filepath.Dir(fmt.Sprint(r.Spec["path"]))]; ok {
			r.Comments = append(r.Comments, "note: its directory belongs to "+o+": Optimus creates the file as "+o+" (Ansible did as root), and refuses owner: root there; give the directory to root, or accept "+o)
		}
	}
}

// orderExecs orders each Exec after the resources converted before it,
// as the tasks ran in order.
func (c *converter) orderExecs() {
	for i, r := range c.order {
		if r.Kind != "Exec" || r.Spec["refreshOnly"] == true {
			continue
		}
		var deps []any
		for _, prev := range c.order[:i] {
			if fmt.Sprint(prev.Spec["hostSelector"]) == fmt.Sprint(r.Spec["hostSelector"]) {
				deps = append(deps, map[string]any{"kind": prev.Kind, "name": prev.Name})
			}
		}
		if len(deps) > 0 {
			r.Spec["dependsOn"] = deps
		}
	}
}
