package ansible

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// tasksFile converts a task list; a missing file is no tasks.
func (c *converter) tasksFile(path string, sc scope) error {
	if _, err := os.Stat(path); err != nil {
		if alt := strings.TrimSuffix(path, ".yml") + ".yaml"; alt != path {
			if _, err := os.Stat(alt); err == nil {
				path = alt
			}
		}
	}
	n, err := loadYAML(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf("%s:%d: a task file is a list of tasks", path, n.Line)
	}
	for _, t := range n.Content {
		c.task(path, t, sc.merged(c.included), c.selector, false)
	}
	return nil
}

// skip records a task that was not converted.
func (c *converter) skip(file string, t *yaml.Node, handler bool, what, why string) {
	unit := "task"
	if handler {
		unit = "handler"
	}
	c.file.Skipped = append(c.file.Skipped, Skipped{Unit: unit, Pos: Pos{file, t.Line}, What: what, Why: why, Source: source(t)})
}

// taskKeywords are the task keywords the converter understands; any other
// makes the task unconvertible, so nothing is silently ignored.
var taskKeywords = map[string]bool{
	"name": true, "when": true, "loop": true, "with_items": true, "with_list": true, "loop_control": true,
	"notify": true, "become": true, "become_user": true, "become_method": true, "tags": true, "vars": true,
	"listen": true, "register": true, "no_log": true, "changed_when": true, "args": true, "with_dict": true,
}

// task converts one task (or handler) into resources.
func (c *converter) task(file string, t *yaml.Node, sc scope, sel selector, handler bool) {
	name := ""
	if n := field(t, "name"); n != nil {
		name = n.Value
	}
	module, args, extra := "", (*yaml.Node)(nil), []string{}
	for _, kv := range mapping(t) {
		k := kv[0].Value
		if taskKeywords[k] {
			continue
		}
		if module == "" && !isKeyword(k) {
			module, args = k, kv[1]
			continue
		}
		extra = append(extra, k)
	}
	what := describeTask(name, module)
	if handler {
		what = "handler " + strings.TrimPrefix(what, "task ")
	}
	// Blocks and includes hold further tasks.
	if b := field(t, "block"); b != nil {
		what = "block"
		if name != "" {
			what = fmt.Sprintf("block %q", name)
		}
		var other []string
		for _, k := range extra {
			switch k {
			case "block":
			case "rescue", "always":
				c.skip(file, t, handler, what, "rescue and always have no Optimus equivalent (a failed resource quarantines its host): convert the block by hand")
				return
			default:
				other = append(other, k)
			}
		}
		if module != "" {
			other = append(other, module)
		}
		if len(other) > 0 {
			sort.Strings(other)
			c.skip(file, t, handler, what, "block keyword "+strings.Join(other, ", ")+" has no Optimus equivalent")
			return
		}
		for _, k := range []string{"loop", "with_items", "with_list", "notify", "become_user"} {
			if field(t, k) != nil {
				c.skip(file, t, handler, what, k+" on a block has no Optimus equivalent: move it to the tasks")
				return
			}
		}
		bsel, bsc, ok := c.condition(file, t, sc, sel, handler, what)
		if !ok || bsel == nil {
			return
		}
		if v := field(t, "vars"); v != nil {
			m, _ := decode(v).(map[string]any)
			bsc = bsc.merged(m)
		}
		for _, sub := range b.Content {
			c.task(file, sub, bsc.merged(c.included), *bsel, handler)
		}
		return
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		c.skip(file, t, handler, what, "keyword "+strings.Join(extra, ", ")+" has no Optimus equivalent")
		return
	}
	if module == "" {
		c.skip(file, t, handler, what, "no module found in the task")
		return
	}
	short := shortModule(module)
	if v := field(t, "vars"); v != nil {
		m, _ := decode(v).(map[string]any)
		sc = sc.merged(m)
	}
	switch short {
	case "include_tasks", "import_tasks":
		for _, k := range []string{"loop", "with_items", "with_list", "notify", "become_user"} {
			if field(t, k) != nil {
				c.skip(file, t, handler, what, k+" on an included task file is not converted: move it to the tasks")
				return
			}
		}
		p, err := sc.eval(argString(args, "file"))
		if err != nil {
			c.skip(file, t, handler, what, err.Error())
			return
		}
		tsel, tsc, ok := c.condition(file, t, sc, sel, handler, what)
		if !ok || tsel == nil {
			return
		}
		sub := filepath.Join(filepath.Dir(file), fmt.Sprint(p))
		saved := c.selector
		c.selector = *tsel
		if err := c.tasksFile(sub, tsc); err != nil {
			c.selector = saved
			c.skip(file, t, handler, what, err.Error())
			return
		}
		c.selector = saved
		return
	case "include_vars":
		c.includeVars(file, t, args, sc, handler, what)
		return
	case "include_role", "import_role":
		c.skip(file, t, handler, what, "import the role on its own (optimus import ansible ROLE_DIR) and give its resources this task's hostSelector")
		return
	}
	if changed := field(t, "changed_when"); changed != nil && short != "command" && short != "shell" {
		c.skip(file, t, handler, what, "changed_when has no Optimus equivalent: a resource changes exactly when it acts")
		return
	}
	items, loopVar, err := c.loopItems(t, sc)
	if err != nil {
		c.skip(file, t, handler, what, err.Error())
		return
	}
	var made []*Resource
	for _, item := range items {
		isc := sc
		if item != nil {
			isc = sc.with(loopVar, item)
		}
		tsel, tsc, ok := c.condition(file, t, isc, sel, handler, what)
		if !ok {
			return
		}
		if tsel == nil {
			continue // when decided false at import
		}
		argMap, err := moduleArgs(args, field(t, "args"), tsc)
		if err != nil {
			c.skip(file, t, handler, what, err.Error())
			return
		}
		user := ""
		if bu := field(t, "become_user"); bu != nil {
			v, err := tsc.eval(bu.Value)
			if err != nil {
				c.skip(file, t, handler, what, err.Error())
				return
			}
			user = fmt.Sprint(v)
			if user != "root" && short != "command" && short != "shell" {
				c.skip(file, t, handler, what, "become_user "+user+" has an Optimus equivalent only for commands (Exec user); for files, set owner")
				return
			}
		}
		rs, err := c.convertModule(short, argMap, taskContext{file: file, line: t.Line, name: name, handler: handler, user: user,
			changedWhen: field(t, "changed_when")})
		if err != nil {
			c.skip(file, t, handler, what, err.Error())
			return
		}
		for _, r := range rs {
			if sp := tsel.spec(); sp != nil {
				r.Spec["hostSelector"] = sp
			}
			made = append(made, r)
		}
	}
	if handler && len(c.notifiedBy(t, name)) == 0 {
		c.skip(file, t, handler, what, "no converted task notifies it")
		return
	}
	var added []*Resource
	reloads := map[*Resource]bool{}
	for _, r := range made {
		if handler {
			if svc := c.sameService(r); svc != nil {
				added = append(added, svc)
				reloads[svc] = r.reloads
				continue
			}
			if r.Kind == "Service" {
				r.Comments = append(r.Comments, "note: no task manages this service; as a Service it is also kept running (state: running)")
			}
		}
		a := c.add(r)
		reloads[a] = r.reloads
		added = append(added, a)
	}
	unit := "task"
	if handler {
		unit = "handler"
		c.attachHandler(t, name, added, reloads)
	} else if n := field(t, "notify"); n != nil {
		var topics []string
		if n.Kind == yaml.ScalarNode {
			topics = []string{n.Value}
		} else {
			for _, e := range n.Content {
				topics = append(topics, e.Value)
			}
		}
		for _, topic := range topics {
			c.notifiers[topic] = append(c.notifiers[topic], added...)
			if _, ok := c.notifiedAt[topic]; !ok {
				c.notifiedAt[topic] = Pos{file, t.Line}
			}
		}
	}
	c.res.converted(unit)
}

func isKeyword(k string) bool {
	switch k {
	case "block", "rescue", "always", "delegate_to", "run_once", "ignore_errors", "failed_when", "until", "retries",
		"delay", "async", "poll", "environment", "with_fileglob", "with_together", "with_nested",
		"with_subelements", "local_action", "any_errors_fatal", "throttle", "check_mode", "diff",
		"connection", "remote_user", "timeout", "with_sequence", "with_first_found", "debugger", "collections",
		"module_defaults", "ignore_unreachable":
		return true
	}
	return false
}

func describeTask(name, module string) string {
	switch {
	case name != "" && module != "":
		return fmt.Sprintf("task %q (%s)", name, module)
	case name != "":
		return fmt.Sprintf("task %q", name)
	case module == "":
		return "task"
	}
	return fmt.Sprintf("task (%s)", module)
}

// shortModule drops the collection: ansible.builtin.copy is copy.
func shortModule(m string) string {
	m = m[strings.LastIndex(m, ".")+1:]
	switch m {
	case "systemd_service":
		return "systemd"
	case "yum":
		return "dnf"
	}
	return m
}
