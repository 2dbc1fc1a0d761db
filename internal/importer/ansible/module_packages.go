package ansible

import (
	"fmt"
	"strconv"
	"strings"
)

func (c *converter) pkg(module string, a *args, ctx taskContext) ([]*Resource, error) {
	names := a.list("name")
	if len(names) == 0 {
		names = a.list("pkg")
	}
	if len(names) == 0 {
		if v, ok := a.boolean("update_cache"); ok && v {
			return nil, fmt.Errorf("a cache refresh alone has no Optimus equivalent: Package refreshes the lists itself when they are older than cacheValidTime")
		}
		return nil, fmt.Errorf("%s: name is required", module)
	}
	for _, n := range names {
		if strings.HasSuffix(n, ".deb") || strings.HasSuffix(n, ".rpm") || strings.Contains(n, "://") {
			return nil, fmt.Errorf("package %s is a file or URL; Package installs from repositories", n)
		}
	}
	r := newResource("Package", resName(names[0]), ctx)
	if len(names) > 1 {
		r.Name = resName(names[0] + "-and-" + strconv.Itoa(len(names)-1) + "-more")
	}
	s := r.Spec
	s["names"] = toAny(names)
	st, err := state(a, map[string]string{"present": "", "installed": "", "latest": "latest", "absent": "absent", "removed": "absent"})
	if err != nil {
		return nil, err
	}
	if st != "" {
		s["state"] = st
	}
	switch module {
	case "apt":
		s["manager"] = "apt"
	case "dnf":
		s["manager"] = "dnf"
	}
	if v := a.str("cache_valid_time"); v != "" {
		secs, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("cache_valid_time %q is not a number of seconds", v)
		}
		s["cacheValidTime"] = fmt.Sprintf("%ds", secs)
	}
	a.ignore("update_cache", "install_recommends")
	return []*Resource{r}, nil
}

func (c *converter) service(a *args, ctx taskContext) ([]*Resource, error) {
	name := a.str("name")
	if name == "" {
		return nil, fmt.Errorf("service: name is required")
	}
	name = strings.TrimSuffix(name, ".service")
	r := newResource("Service", resName(name), ctx)
	r.Spec["name"] = name
	switch st := a.str("state"); st {
	case "", "started":
	case "stopped":
		r.Spec["state"] = "stopped"
	case "restarted", "reloaded":
		if !ctx.handler {
			return nil, fmt.Errorf("state %s in a task restarts on every run; Optimus restarts a Service only on restartOn (make it a handler)", st)
		}
		if st == "reloaded" {
			r.reloads = true
		}
	default:
		return nil, fmt.Errorf("state %s has no Optimus equivalent", st)
	}
	if v, ok := a.boolean("enabled"); ok {
		r.Spec["enabled"] = v
		if a.str("state") == "" && !ctx.handler {
			r.Comments = append(r.Comments, "note: without state, Ansible left the service running or stopped as it was; a Service also keeps it running (state: running): set state: stopped if it must not run")
		}
	}
	if v, ok := a.boolean("daemon_reload"); ok && v {
		r.Comments = append(r.Comments, "note: daemon_reload is left to the Service reconciler")
	}
	if ctx.handler && a.str("state") == "" {
		return nil, fmt.Errorf("a handler without state does nothing")
	}
	a.ignore("pattern")
	return []*Resource{r}, nil
}
