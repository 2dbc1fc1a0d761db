package ansible

import (
	"fmt"
	"strconv"
)

func (c *converter) sysctl(a *args, ctx taskContext) ([]*Resource, error) {
	name := a.str("name")
	if name == "" {
		return nil, fmt.Errorf("sysctl: name is required")
	}
	r := newResource("Sysctl", resName(name), ctx)
	r.Spec["name"] = name
	if v := a.str("value", "val"); v != "" {
		r.Spec["value"] = v
	}
	if st, err := state(a, map[string]string{"present": "", "absent": "absent"}); err != nil {
		return nil, err
	} else if st != "" {
		r.Spec["state"] = st
	}
	if f := a.str("sysctl_file"); f != "" {
		r.Comments = append(r.Comments, "note: Ansible wrote "+f+"; Optimus writes /etc/sysctl.d/90-optimus-"+name+".conf")
	}
	a.ignore("reload", "sysctl_set", "ignoreerrors")
	return []*Resource{r}, nil
}

func (c *converter) mount(a *args, ctx taskContext) ([]*Resource, error) {
	path := a.str("path", "name")
	if path == "" {
		return nil, fmt.Errorf("mount: path is required")
	}
	r := newResource("Mount", resName(path), ctx)
	s := r.Spec
	s["path"] = path
	if v := a.str("src"); v != "" {
		s["source"] = v
	}
	if v := a.str("fstype"); v != "" {
		s["fstype"] = v
	}
	if v := a.str("opts"); v != "" {
		s["options"] = v
	}
	for from, to := range map[string]string{"dump": "dump", "passno": "pass"} {
		if v := a.str(from); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("%s %q is not a number", from, v)
			}
			s[to] = n
		}
	}
	st, err := state(a, map[string]string{"mounted": "", "unmounted": "unmounted", "present": "present", "absent": "absent"})
	if err != nil {
		return nil, err
	}
	if st != "" {
		s["state"] = st
	}
	a.ignore("fstab", "backup", "boot")
	return []*Resource{r}, nil
}

func (c *converter) hostname(a *args, ctx taskContext) ([]*Resource, error) {
	name := a.str("name")
	if name == "" {
		return nil, fmt.Errorf("hostname: name is required")
	}
	r := newResource("Hostname", "hostname", ctx)
	r.Spec["name"] = name
	a.ignore("use")
	return []*Resource{r}, nil
}
