package ansible

import (
	"fmt"
	"os"
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
	seen := map[string]bool{}
	for _, f := range res.Files {
		if seen[f.Name] {
			return nil, fmt.Errorf("two of the sources would both be written to %s (a playbook named like the inventory's hosts.yaml, or two playbooks of one name): import them separately", f.Name)
		}
		seen[f.Name] = true
	}
	return res, nil
}
