package ansible

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// loadVarsDir reads DIR/NAME.yml (or .yaml, .json, no extension) and every
// file of DIR/NAME/, in name order, into vars. A file encrypted whole with
// ansible-vault makes every variable it may hold unknown: it is recorded as
// one vault entry named after the file.
func loadVarsDir(dir, name string, vars Vars) error {
	var files []string
	for _, ext := range []string{"", ".yml", ".yaml", ".json"} {
		p := filepath.Join(dir, name+ext)
		if info, err := os.Stat(p); err == nil {
			if info.IsDir() {
				entries, err := os.ReadDir(p)
				if err != nil {
					return err
				}
				for _, e := range entries {
					if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
						files = append(files, filepath.Join(p, e.Name()))
					}
				}
			} else {
				files = append(files, p)
			}
		}
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if strings.HasPrefix(string(b), "$ANSIBLE_VAULT;") {
			vars["(vault file "+filepath.Base(f)+")"] = Var{Pos: Pos{f, 1}, Vault: true}
			continue
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return fmt.Errorf("%s: %v", f, err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		if err := yamlVars(f, doc.Content[0], vars); err != nil {
			return err
		}
	}
	return nil
}
