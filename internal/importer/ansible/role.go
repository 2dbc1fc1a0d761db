package ansible

import (
	"fmt"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// ImportRole converts a role directory: tasks/main.yml with the role's
// defaults and vars, and handlers/main.yml for what the tasks notify.
func ImportRole(dir string) (*Result, error) {
	if !hasTasks(dir) {
		return nil, fmt.Errorf("%s is not a role directory: it has no tasks/main.yml", dir)
	}
	res := &Result{}
	err := importRole(res, dir, selector{}, nil)
	return res, err
}

// importDependencies converts the roles of meta/main.yml's dependencies,
// looked up beside the role, for the same hosts.
func importDependencies(res *Result, f *File, dir string, sel selector) error {
	metaFile := filepath.Join(dir, "meta", "main.yml")
	meta, err := loadYAML(metaFile)
	if os.IsNotExist(err) || meta == nil {
		return nil
	}
	if err != nil {
		return err
	}
	deps := field(meta, "dependencies")
	if deps == nil {
		return nil
	}
	for _, d := range deps.Content {
		name, params, when := d.Value, map[string]any{}, false
		if d.Kind == yaml.MappingNode {
			m, _ := decode(d).(map[string]any)
			name = fmt.Sprint(m["role"])
			if m["role"] == nil {
				name = fmt.Sprint(m["name"])
			}
			for k, v := range m {
				switch k {
				case "role", "name", "tags":
				case "when":
					when = true
				default:
					params[k] = v
				}
			}
		}
		skip := func(why string) {
			f.Skipped = append(f.Skipped, Skipped{Unit: "task", Pos: Pos{metaFile, d.Line}, What: "dependency " + name, Why: why, Source: source(d)})
		}
		if when {
			skip("a when on a role dependency is not converted: import the role on its own")
			continue
		}
		depDir := filepath.Join(filepath.Dir(dir), name)
		switch {
		case res.importing[filepath.Clean(depDir)]:
			skip("a dependency cycle: " + name + " is already being imported")
		case !hasTasks(depDir):
			skip("no role at " + depDir + " (dependencies are looked up beside the role): import it on its own")
		default:
			if err := importRole(res, depDir, sel, params); err != nil {
				return err
			}
		}
	}
	return nil
}

func hasTasks(dir string) bool {
	for _, n := range []string{"main.yml", "main.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, "tasks", n)); err == nil {
			return true
		}
	}
	return false
}

// importRole converts a role into a file of its own, after the roles it
// depends on (meta/main.yml), each of which is converted once.
func importRole(res *Result, dir string, sel selector, params map[string]any) error {
	dir = filepath.Clean(dir)
	key := dir + "\x00" + fmt.Sprint(sel.spec()) + "\x00" + fmt.Sprint(params)
	if res.roles == nil {
		res.roles, res.importing = map[string]bool{}, map[string]bool{}
	}
	if res.roles[key] {
		return nil
	}
	res.roles[key], res.importing[dir] = true, true
	defer delete(res.importing, dir)
	f := res.newFile("role-" + filepath.Base(dir))
	if err := importDependencies(res, f, dir, sel); err != nil {
		return err
	}
	defaults, err := loadVarsFile(filepath.Join(dir, "defaults", "main"))
	if err != nil {
		return err
	}
	vars, err := loadVarsFile(filepath.Join(dir, "vars", "main"))
	if err != nil {
		return err
	}
	sc := scope{}.merged(defaults).merged(vars).merged(params)
	c := newConverter(res, f, sel, dir)
	c.defaults, c.overrides = defaults, scope{}.merged(vars).merged(params)
	name := filepath.Base(filepath.Clean(dir))
	f.Header = append(f.Header, "Resources from the Ansible role "+name+" ("+dir+").")
	if err := c.tasksFile(filepath.Join(dir, "tasks", "main.yml"), sc); err != nil {
		return err
	}
	if err := c.handlersFile(filepath.Join(dir, "handlers", "main.yml"), sc); err != nil {
		return err
	}
	c.finish()
	return nil
}

// TemplateVars are variables that Jinja2 templates of a role read on the
// hosts a selector picks.
type TemplateVars struct {
	From     string
	selector selector
	// Defaults apply where the host has no value; Overrides replace it.
	Defaults, Overrides map[string]any
}
