package ansible

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// loadVarsFile reads a defaults/ or vars/ file into a map.
func loadVarsFile(path string) (map[string]any, error) {
	for _, p := range []string{path + ".yml", path + ".yaml", path} {
		if info, err := os.Stat(p); err == nil && !info.IsDir() {
			if b, err := os.ReadFile(p); err == nil && strings.HasPrefix(string(b), "$ANSIBLE_VAULT;") {
				return nil, fmt.Errorf("%s is vault-encrypted: Optimus does not decrypt it; move its secrets to secret sources ({env: NAME}, {file: PATH})", p)
			}
			n, err := loadYAML(p)
			if err != nil {
				return nil, err
			}
			m, _ := decode(n).(map[string]any)
			return m, nil
		}
	}
	return nil, nil
}

// includeVars loads a static include_vars file (from the role's vars/, or
// beside the task file) for the tasks after it.
func (c *converter) includeVars(file string, t *yaml.Node, args *yaml.Node, sc scope, handler bool, what string) {
	for _, k := range []string{"when", "loop", "with_items", "with_first_found"} {
		if field(t, k) != nil {
			c.skip(file, t, handler, what, k+" on include_vars is not converted: the variables would differ per host")
			return
		}
	}
	p, err := sc.eval(argString(args, "file"))
	if err != nil {
		c.skip(file, t, handler, what, err.Error())
		return
	}
	name := fmt.Sprint(p)
	for _, kv := range mapping(args) {
		if kv[0].Value != "file" {
			name = ""
		}
	}
	if name == "" {
		c.skip(file, t, handler, what, "only include_vars of one file (file: or free form) is converted")
		return
	}
	candidates := []string{name}
	if !filepath.IsAbs(name) {
		candidates = []string{filepath.Join(c.roleDir, "vars", name), filepath.Join(filepath.Dir(file), name)}
	}
	for _, cand := range candidates {
		if _, err := os.Stat(cand); err != nil {
			continue
		}
		m, err := loadVarsFile(cand)
		if err != nil {
			c.skip(file, t, handler, what, err.Error())
			return
		}
		c.included = c.included.merged(m)
		c.overrides = scope(c.overrides).merged(m)
		c.res.converted("task")
		return
	}
	c.skip(file, t, handler, what, "no file "+name+" in the role's vars/ or beside the task file")
}
