package ansible

import (
	"fmt"
	"os"
	"strings"
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
	dedupe(res)
	seen := map[string]bool{}
	for _, f := range res.Files {
		if seen[f.Name] {
			return nil, fmt.Errorf("two of the sources would both be written to %s (a playbook named like the inventory's hosts.yaml, or two playbooks of one name): import them separately", f.Name)
		}
		seen[f.Name] = true
	}
	return res, nil
}

// dedupe keeps resource names unique across files, as a manifest set
// requires: a resource that another file already defines the same way is
// dropped, one defined differently is renamed (and the references of its
// own file follow).
func dedupe(res *Result) {
	first := map[string]*Resource{}
	for _, f := range res.Files {
		renamed := map[string]string{}
		kept := f.Resources[:0]
		for _, r := range f.Resources {
			key := r.Kind + "/" + r.Name
			prev, dup := first[key]
			switch {
			case !dup:
				first[key] = r
				kept = append(kept, r)
			case fmt.Sprint(prev.Spec) == fmt.Sprint(r.Spec):
				f.Header = append(f.Header, fmt.Sprintf("%s (%s) is left out here: another file defines it the same way", key, strings.TrimPrefix(r.Comments[0], "from ")))
			default:
				name := r.Name
				for i := 2; first[r.Kind+"/"+name] != nil; i++ {
					name = fmt.Sprintf("%s-%d", r.Name, i)
				}
				r.Comments = append(r.Comments, "note: renamed from "+r.Name+", which another file defines differently; both apply to the hosts both select")
				renamed[key] = name
				r.Name = name
				first[r.Kind+"/"+name] = r
				kept = append(kept, r)
			}
		}
		f.Resources = kept
		if len(renamed) == 0 {
			continue
		}
		for _, r := range f.Resources {
			for _, field := range []string{"restartOn", "reloadOn", "dependsOn"} {
				refs, _ := r.Spec[field].([]any)
				for _, ref := range refs {
					m, ok := ref.(map[string]any)
					if !ok {
						continue
					}
					if n, ok := renamed[fmt.Sprint(m["kind"])+"/"+fmt.Sprint(m["name"])]; ok {
						m["name"] = n
					}
				}
			}
		}
	}
}
