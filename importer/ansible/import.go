package ansible

import (
	"fmt"
	"os"
	"path/filepath"
)

// Options say what to import.
type Options struct {
	// Inventory is an inventory file or directory; empty for none.
	Inventory string
	// Sources are playbooks (YAML files) and role directories.
	Sources []string
}

// Import converts the inventory, then each playbook or role.
func Import(opts Options) (*Result, error) {
	res := &Result{}
	if opts.Inventory != "" {
		r, err := ImportInventory(opts.Inventory)
		if err != nil {
			return nil, err
		}
		res.Merge(r)
	}
	for _, src := range opts.Sources {
		info, err := os.Stat(src)
		if err != nil {
			return nil, err
		}
		var r *Result
		if info.IsDir() {
			r, err = ImportRole(src)
		} else {
			r, err = ImportPlaybook(src)
		}
		if err != nil {
			return nil, err
		}
		res.Merge(r)
	}
	applyTemplateVars(res)
	seen := map[string]string{}
	for _, f := range res.Files {
		if prev, dup := seen[f.Name]; dup {
			return nil, fmt.Errorf("two sources would both be written to %s (%s and %s): import them separately", f.Name, prev, filepath.Base(f.Name))
		}
		seen[f.Name] = f.Name
	}
	return res, nil
}
