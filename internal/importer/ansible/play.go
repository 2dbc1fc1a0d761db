package ansible

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// playKeys are the play keywords the converter reads or that change
// nothing for Optimus; any other is reported.
var playKeys = map[string]bool{
	"name": true, "hosts": true, "vars": true, "vars_files": true, "roles": true, "tasks": true,
	"pre_tasks": true, "post_tasks": true, "handlers": true, "become": true, "become_user": true,
	"become_method": true, "gather_facts": true, "tags": true, "serial": true, "max_fail_percentage": true,
	"remote_user": true,
}

var simpleGroup = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// ImportPlaybook converts every play of a playbook: its roles (each into
// a file of its own) and its tasks and handlers.
func ImportPlaybook(path string) (*Result, error) {
	root, err := loadYAML(path)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	if root == nil {
		return res, nil
	}
	if root.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s:%d: a playbook is a list of plays", path, root.Line)
	}
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	own := res.newFile(base)
	own.Header = []string{"Resources from the Ansible playbook " + path + "."}
	for i, play := range root.Content {
		if imp := field(play, "import_playbook"); imp != nil {
			own.Skipped = append(own.Skipped, Skipped{Unit: "task", Pos: Pos{path, play.Line}, What: "import_playbook " + imp.Value,
				Why: "import that playbook on its own as well", Source: source(play)})
			continue
		}
		hosts := ""
		if h := field(play, "hosts"); h != nil {
			hosts = h.Value
		}
		what := fmt.Sprintf("play %d (hosts: %s)", i+1, hosts)
		var sel selector
		switch {
		case hosts == "all" || hosts == "*":
		case simpleGroup.MatchString(hosts):
			sel.labels = map[string]string{GroupLabelPrefix + hosts: "true"}
		default:
			own.Skipped = append(own.Skipped, Skipped{Unit: "task", Pos: Pos{path, play.Line}, What: what,
				Why: "only hosts: all or a single group can be a hostSelector; split the play by group", Source: source(play)})
			continue
		}
		var extra []string
		for _, kv := range mapping(play) {
			if !playKeys[kv[0].Value] {
				extra = append(extra, kv[0].Value)
			}
		}
		if len(extra) > 0 {
			sort.Strings(extra)
			own.Skipped = append(own.Skipped, Skipped{Unit: "task", Pos: Pos{path, play.Line}, What: what,
				Why: "play keyword " + strings.Join(extra, ", ") + " has no Optimus equivalent", Source: source(play)})
			continue
		}
		for _, k := range []string{"serial", "max_fail_percentage"} {
			if n := field(play, k); n != nil {
				own.Header = append(own.Header, fmt.Sprintf("%s:%d: %s %s: stage the apply with a Rollout (see docs/rollouts.md)", path, n.Line, k, n.Value))
			}
		}
		playVars, _ := decode(field(play, "vars")).(map[string]any)
		if vf := field(play, "vars_files"); vf != nil {
			for _, f := range vf.Content {
				p := f.Value
				if !filepath.IsAbs(p) {
					p = filepath.Join(filepath.Dir(path), p)
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: vars_files: %v", path, f.Line, err)
				}
				if strings.HasPrefix(string(b), "$ANSIBLE_VAULT;") {
					own.Header = append(own.Header, fmt.Sprintf("%s:%d: %s is vault-encrypted and was not read: tasks that use its variables are left out", path, f.Line, f.Value))
					continue
				}
				m, err := loadVarsFile(p)
				if err != nil {
					return nil, err
				}
				playVars = scope(playVars).merged(m)
			}
		}
		if roles := field(play, "roles"); roles != nil {
			for _, rn := range roles.Content {
				name, params := rn.Value, map[string]any{}
				if rn.Kind == yaml.MappingNode {
					m, _ := decode(rn).(map[string]any)
					for k, v := range m {
						switch k {
						case "role", "name":
							name = fmt.Sprint(v)
						case "tags":
						default:
							params[k] = v
						}
					}
				}
				dir := filepath.Join(filepath.Dir(path), "roles", name)
				if !hasTasks(dir) {
					own.Skipped = append(own.Skipped, Skipped{Unit: "task", Pos: Pos{path, rn.Line}, What: "role " + name,
						Why: "no role at " + dir + " (roles are looked up in roles/ beside the playbook): import it on its own", Source: source(rn)})
					continue
				}
				if err := importRole(res, dir, sel, scope(playVars).merged(params)); err != nil {
					return nil, err
				}
			}
		}
		sc := scope{}.merged(playVars)
		c := newConverter(res, own, sel, filepath.Dir(path))
		c.overrides = playVars
		for _, k := range []string{"pre_tasks", "tasks", "post_tasks"} {
			if ts := field(play, k); ts != nil {
				for _, t := range ts.Content {
					c.task(path, t, sc.merged(c.included), sel, false)
				}
			}
		}
		if hs := field(play, "handlers"); hs != nil {
			for _, t := range hs.Content {
				c.task(path, t, sc.merged(c.included), sel, true)
			}
		}
		c.finish()
	}
	return res, nil
}

// applyTemplateVars gives the Hosts the role variables their templates
// read; without Hosts it lists them in the role's file.
func applyTemplateVars(res *Result) {
	var hosts []*Resource
	for _, f := range res.Files {
		for _, r := range f.Resources {
			if r.Kind == "Host" {
				hosts = append(hosts, r)
			}
		}
	}
	for _, tv := range res.TemplateVars {
		safe := func(m map[string]any) map[string]any {
			out := map[string]any{}
			for k, v := range m {
				if secretVarRe.MatchString(k) || hasVault(v) {
					continue
				}
				out[k] = v
			}
			return out
		}
		defaults, overrides := safe(tv.Defaults), safe(tv.Overrides)
		if len(hosts) == 0 {
			for _, f := range res.Files {
				if f.Name == tv.From {
					f.Header = append(f.Header, "Its templates read these variables: give them to the Hosts as spec.vars (or import with -i INVENTORY):")
					b, _ := yaml.Marshal(scope(defaults).merged(overrides))
					f.Header = append(f.Header, "  "+strings.ReplaceAll(strings.TrimRight(string(b), "\n"), "\n", "\n  "))
				}
			}
			continue
		}
		for _, h := range hosts {
			if !tv.selector.matches(h) {
				continue
			}
			vars, _ := h.Spec["vars"].(map[string]any)
			if vars == nil {
				vars = map[string]any{}
			}
			for k, v := range defaults {
				if _, ok := vars[k]; !ok {
					vars[k] = v
				}
			}
			for k, v := range overrides {
				vars[k] = v
			}
			if len(vars) > 0 {
				h.Spec["vars"] = vars
				h.Comments = append(h.Comments, "note: vars include the variables of "+tv.From+", which its templates read")
			}
		}
	}
}

// matches reports whether the selector's labels pick host (facts are only
// known on the host; a selector with facts matches for this purpose).
func (s selector) matches(h *Resource) bool {
	for k, v := range s.labels {
		if h.Labels[k] != v {
			return false
		}
	}
	return true
}
