package ansible

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// converter turns the tasks of one role or play into resources of one
// output file.
type converter struct {
	file *File
	res  *Result
	// selector applies to every resource: the play's hosts and the task's when.
	selector selector
	// roleDir is where files/ and templates/ are looked up.
	roleDir string
	// byName finds resources already made, to merge duplicates.
	byName map[string]*Resource
	// notifiers maps a handler name (or listen topic) to the resources
	// that notify it.
	notifiers map[string][]*Resource
	// notifiedAt is where each topic was first notified; consumed, the
	// topics a converted handler took.
	notifiedAt map[string]Pos
	consumed   map[string]bool
	// order is every resource made, in task order.
	order []*Resource
	// defaults and overrides are the role's and play's variables, which
	// Jinja2 templates read on the hosts: defaults lose to inventory
	// variables, overrides (role vars, play vars) win over them.
	defaults, overrides map[string]any
	// included are the variables include_vars loaded, which every later
	// task sees, as in Ansible.
	included scope
}

func newConverter(res *Result, f *File, sel selector, dir string) *converter {
	return &converter{file: f, res: res, selector: sel, roleDir: dir, byName: map[string]*Resource{},
		notifiers: map[string][]*Resource{}, notifiedAt: map[string]Pos{}, consumed: map[string]bool{}}
}

// selector is a hostSelector under construction.
type selector struct {
	labels map[string]string
	facts  map[string]string
}

func (s selector) and(o selector) selector {
	out := selector{labels: map[string]string{}, facts: map[string]string{}}
	for _, m := range []map[string]string{s.labels, o.labels} {
		for k, v := range m {
			out.labels[k] = v
		}
	}
	for _, m := range []map[string]string{s.facts, o.facts} {
		for k, v := range m {
			out.facts[k] = v
		}
	}
	return out
}

func (s selector) spec() map[string]any {
	out := map[string]any{}
	if len(s.labels) > 0 {
		out["matchLabels"] = s.labels
	}
	if len(s.facts) > 0 {
		out["matchFacts"] = s.facts
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// node helpers: Ansible files are read as yaml.Node to keep line numbers.

func loadYAML(path string) (*yaml.Node, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

func decode(n *yaml.Node) any {
	var v any
	if n == nil {
		return nil
	}
	_ = n.Decode(&v)
	return v
}

func mapping(n *yaml.Node) [][2]*yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, [2]*yaml.Node{n.Content[i], n.Content[i+1]})
	}
	return out
}

func field(n *yaml.Node, key string) *yaml.Node {
	for _, kv := range mapping(n) {
		if kv[0].Value == key {
			return kv[1]
		}
	}
	return nil
}

// source is the YAML text of n, for a placeholder.
func source(n *yaml.Node) string {
	b, err := yaml.Marshal(n)
	if err != nil {
		return ""
	}
	return string(b)
}

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

func (c *converter) handlersFile(path string, sc scope) error {
	n, err := loadYAML(path)
	if os.IsNotExist(err) || n == nil {
		return nil
	}
	if err != nil {
		return err
	}
	for _, t := range n.Content {
		c.task(path, t, sc.merged(c.included), c.selector, true)
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
	for _, r := range made {
		if handler {
			if svc := c.sameService(r); svc != nil {
				added = append(added, svc)
				continue
			}
			if r.Kind == "Service" {
				r.Comments = append(r.Comments, "note: no task manages this service; as a Service it is also kept running (state: running)")
			}
		}
		added = append(added, c.add(r))
	}
	unit := "task"
	if handler {
		unit = "handler"
		c.attachHandler(t, name, added)
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

// argString is a free-form argument, or the named one of a mapping.
func argString(args *yaml.Node, key string) string {
	if args == nil {
		return ""
	}
	if args.Kind == yaml.ScalarNode {
		return args.Value
	}
	if f := field(args, key); f != nil {
		return f.Value
	}
	return ""
}

// moduleArgs evaluates the module's arguments; a free-form string
// ("name=x state=present", or a command line) is split as Ansible does.
// The args keyword adds to them.
func moduleArgs(args, extra *yaml.Node, sc scope) (map[string]any, error) {
	out := map[string]any{}
	m := map[string]any{}
	if args != nil && args.Kind == yaml.ScalarNode && args.Tag != "!!null" {
		v, err := sc.eval(args.Value)
		if err != nil {
			return nil, err
		}
		out["_raw"] = fmt.Sprint(v)
	} else if args != nil {
		m, _ = decode(args).(map[string]any)
	}
	if extra != nil {
		e, ok := decode(extra).(map[string]any)
		if !ok {
			return nil, fmt.Errorf("args must be a mapping")
		}
		m = scope(m).merged(e)
	}
	for k, v := range m {
		if k == "password" {
			// Never read: it becomes a secret reference.
			out[k] = nil
			continue
		}
		r, err := sc.eval(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", k, err)
		}
		if hasVault(r) {
			return nil, fmt.Errorf("%s uses a vault-encrypted value, which is never written in a manifest: write this resource by hand with a secret source ({env: NAME} or {file: PATH})", k)
		}
		out[k] = r
	}
	return out, nil
}

// hasVault reports whether v holds an ansible-vault ciphertext.
func hasVault(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.Contains(v, "$ANSIBLE_VAULT;")
	case []any:
		for _, e := range v {
			if hasVault(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range v {
			if hasVault(e) {
				return true
			}
		}
	}
	return false
}

// loopItems returns the items of loop or with_items, one nil item when
// there is no loop.
func (c *converter) loopItems(t *yaml.Node, sc scope) ([]any, string, error) {
	loopVar := "item"
	if lc := field(t, "loop_control"); lc != nil {
		for _, kv := range mapping(lc) {
			switch kv[0].Value {
			case "loop_var":
				loopVar = kv[1].Value
			case "label":
				// Only changes what Ansible prints.
			default:
				return nil, "", fmt.Errorf("loop_control.%s has no Optimus equivalent", kv[0].Value)
			}
		}
	}
	if n := field(t, "with_dict"); n != nil {
		v, err := sc.eval(decode(n))
		if err != nil {
			return nil, "", fmt.Errorf("with_dict: %v", err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, "", fmt.Errorf("with_dict is not a dictionary known at import (%v)", v)
		}
		var items []any
		for _, k := range sortedKeys(m) {
			items = append(items, map[string]any{"key": k, "value": m[k]})
		}
		return items, loopVar, nil
	}
	n := field(t, "loop")
	if n == nil {
		n = field(t, "with_items")
	}
	if n == nil {
		n = field(t, "with_list")
	}
	if n == nil {
		return []any{nil}, loopVar, nil
	}
	v, err := sc.eval(decode(n))
	if err != nil {
		return nil, "", fmt.Errorf("loop: %v", err)
	}
	list, ok := v.([]any)
	if !ok {
		return nil, "", fmt.Errorf("loop is not a list known at import (%v)", v)
	}
	if field(t, "with_items") != nil {
		// with_items flattens one level.
		var flat []any
		for _, e := range list {
			if l, ok := e.([]any); ok {
				flat = append(flat, l...)
			} else {
				flat = append(flat, e)
			}
		}
		list = flat
	}
	if len(list) == 0 {
		return nil, loopVar, nil
	}
	return list, loopVar, nil
}

// add records r; a resource of the same kind and name from another task
// is merged when the specs agree, renamed otherwise.
func (c *converter) add(r *Resource) *Resource {
	key := r.Kind + "/" + r.Name
	if prev, ok := c.byName[key]; ok {
		if fmt.Sprint(prev.Spec) == fmt.Sprint(r.Spec) {
			return prev
		}
		for i := 2; ; i++ {
			name := fmt.Sprintf("%s-%d", r.Name, i)
			if _, taken := c.byName[r.Kind+"/"+name]; !taken {
				r.Comments = append(r.Comments, "note: renamed from "+r.Name+", which another task already defines differently")
				r.Name = name
				key = r.Kind + "/" + name
				break
			}
		}
	}
	c.byName[key] = r
	c.order = append(c.order, r)
	c.file.Resources = append(c.file.Resources, r)
	return r
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

// sameService finds the Service a task already manages that a handler
// restarts, so that the handler adds restartOn to it rather than a second
// resource for the same service.
func (c *converter) sameService(r *Resource) *Resource {
	if r.Kind != "Service" {
		return nil
	}
	for _, prev := range c.order {
		if prev.Kind == "Service" && prev.Spec["name"] == r.Spec["name"] &&
			fmt.Sprint(prev.Spec["hostSelector"]) == fmt.Sprint(r.Spec["hostSelector"]) {
			return prev
		}
	}
	return nil
}

// notifiedBy lists the resources that notify a handler, by its name or a
// topic it listens to.
func (c *converter) notifiedBy(t *yaml.Node, name string) []*Resource {
	topics := []string{name}
	if l := field(t, "listen"); l != nil {
		if l.Kind == yaml.ScalarNode {
			topics = append(topics, l.Value)
		} else {
			for _, e := range l.Content {
				topics = append(topics, e.Value)
			}
		}
	}
	var out []*Resource
	for _, topic := range topics {
		out = append(out, c.notifiers[topic]...)
		c.consumed[topic] = true
	}
	return out
}

// attachHandler wires a converted handler to the resources that notify
// it: a Service restarts on them, an Exec runs on them.
func (c *converter) attachHandler(t *yaml.Node, name string, made []*Resource) {
	var refs []any
	seen := map[string]bool{}
	for _, n := range c.notifiedBy(t, name) {
		if key := n.Kind + "/" + n.Name; !seen[key] {
			seen[key] = true
			refs = append(refs, map[string]any{"kind": n.Kind, "name": n.Name})
		}
	}
	for _, r := range made {
		existing, _ := r.Spec["restartOn"].([]any)
		r.Spec["restartOn"] = append(existing, refs...)
		if r.Kind == "Exec" {
			r.Spec["refreshOnly"] = true
			delete(r.Spec, "creates")
		}
	}
}

// finish records the role's variables for its templates, and orders each
// Exec after the resources converted before it, as the tasks ran in order.
func (c *converter) finish() {
	templates := false
	for _, r := range c.order {
		if _, ok := r.Spec["template"]; ok {
			templates = true
		}
	}
	if templates && len(c.defaults)+len(c.overrides) > 0 {
		c.res.TemplateVars = append(c.res.TemplateVars, TemplateVars{From: c.file.Name, selector: c.selector,
			Defaults: c.defaults, Overrides: c.overrides})
	}
	c.orderExecs()
	c.noteOwnedDirectories()
	for _, topic := range sortedKeys(c.notifiedAt) {
		if !c.consumed[topic] {
			c.file.Skipped = append(c.file.Skipped, Skipped{Unit: "notification", Pos: c.notifiedAt[topic], What: "notify " + topic,
				Why: "no converted handler of this role or play answers it (a handler of another role is not followed): add restartOn by hand"})
		}
	}
}

// noteOwnedDirectories warns about a file written, without an owner, into
// a directory the role gives to another user: Optimus creates it as that
// user (it never writes as root where another user could swap the path),
// where Ansible created it as root.
func (c *converter) noteOwnedDirectories() {
	owners := map[string]string{}
	for _, r := range c.order {
		if r.Kind == "Directory" {
			if o, _ := r.Spec["owner"].(string); o != "" && o != "root" {
				owners[fmt.Sprint(r.Spec["path"])] = o
			}
		}
	}
	for _, r := range c.order {
		if r.Kind != "File" || r.Spec["owner"] != nil || r.Spec["state"] == "absent" {
			continue
		}
		if o, ok := owners[filepath.Dir(fmt.Sprint(r.Spec["path"]))]; ok {
			r.Comments = append(r.Comments, "note: its directory belongs to "+o+": Optimus creates the file as "+o+" (Ansible did as root), and refuses owner: root there; give the directory to root, or accept "+o)
		}
	}
}

// orderExecs orders each Exec after the resources converted before it,
// as the tasks ran in order.
func (c *converter) orderExecs() {
	for i, r := range c.order {
		if r.Kind != "Exec" || r.Spec["refreshOnly"] == true {
			continue
		}
		var deps []any
		for _, prev := range c.order[:i] {
			if fmt.Sprint(prev.Spec["hostSelector"]) == fmt.Sprint(r.Spec["hostSelector"]) {
				deps = append(deps, map[string]any{"kind": prev.Kind, "name": prev.Name})
			}
		}
		if len(deps) > 0 {
			r.Spec["dependsOn"] = deps
		}
	}
}
