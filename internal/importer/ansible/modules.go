package ansible

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/optimus-cm/optimus/internal/jinja"
)

// taskContext is what a module conversion needs beyond its arguments.
type taskContext struct {
	file        string
	line        int
	name        string
	handler     bool
	user        string // become_user
	changedWhen *yaml.Node
}

// args reads module arguments and refuses any it does not know.
type args struct {
	m    map[string]any
	used map[string]bool
}

func newArgs(m map[string]any) *args {
	if raw, ok := m["_raw"].(string); ok {
		// Free form "name=x state=present"; a command keeps its line.
		fields, err := splitINI(raw)
		if err == nil {
			parsed := map[string]any{}
			for _, f := range fields {
				k, v, ok := strings.Cut(f, "=")
				if !ok {
					parsed = nil
					break
				}
				parsed[k] = iniValue(v)
			}
			if parsed != nil {
				m = parsed
			}
		}
	}
	return &args{m: m, used: map[string]bool{}}
}

func (a *args) str(keys ...string) string {
	for _, k := range keys {
		a.used[k] = true
		if v, ok := a.m[k]; ok && v != nil {
			return fmt.Sprint(v)
		}
	}
	return ""
}

func (a *args) has(k string) bool {
	a.used[k] = true
	_, ok := a.m[k]
	return ok
}

func (a *args) boolean(k string) (bool, bool) {
	a.used[k] = true
	v, ok := a.m[k]
	if !ok {
		return false, false
	}
	return truthy(v), true
}

func (a *args) list(k string) []string {
	a.used[k] = true
	switch v := a.m[k].(type) {
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			out[i] = fmt.Sprint(e)
		}
		return out
	case string:
		var out []string
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	case nil:
		return nil
	}
	return []string{fmt.Sprint(a.m[k])}
}

// ignore marks arguments that change nothing in Optimus.
func (a *args) ignore(keys ...string) {
	for _, k := range keys {
		a.used[k] = true
	}
}

// rest fails on any argument not read.
func (a *args) rest() error {
	var left []string
	for k := range a.m {
		if !a.used[k] {
			left = append(left, k)
		}
	}
	if len(left) == 0 {
		return nil
	}
	if raw, ok := a.m["_raw"]; ok {
		return fmt.Errorf("free-form arguments %q are not all key=value: write them as a mapping", raw)
	}
	sort.Strings(left)
	return fmt.Errorf("argument %s has no Optimus equivalent", strings.Join(left, ", "))
}

// mode writes an Ansible mode as an octal string: 0644, "0644", "644".
func (a *args) mode(spec map[string]any) error {
	a.used["mode"] = true
	v, ok := a.m["mode"]
	if !ok {
		return nil
	}
	switch v := v.(type) {
	case int:
		// YAML read 0644 as octal already.
		spec["mode"] = fmt.Sprintf("%04o", v)
	case string:
		if !regexp.MustCompile(`^0?[0-7]{3,4}$`).MatchString(v) {
			return fmt.Errorf("mode %q: only octal modes convert (symbolic modes such as u+rwx do not)", v)
		}
		spec["mode"] = fmt.Sprintf("%04s", strings.TrimPrefix(v, "0"))
		if len(strings.TrimPrefix(v, "0")) == 4 {
			spec["mode"] = strings.TrimPrefix(v, "0")
		}
	default:
		return fmt.Errorf("mode %v is not an octal mode", v)
	}
	return nil
}

func (a *args) owner(spec map[string]any) {
	if o := a.str("owner"); o != "" {
		spec["owner"] = o
	}
	if g := a.str("group"); g != "" {
		spec["group"] = g
	}
}

var nameClean = regexp.MustCompile(`[^a-z0-9._-]+`)

// resName makes a resource name from parts: /etc/nginx/nginx.conf is
// etc-nginx-nginx.conf.
func resName(parts ...string) string {
	s := strings.ToLower(strings.Join(parts, "-"))
	s = nameClean.ReplaceAllString(strings.ReplaceAll(s, "/", "-"), "-")
	s = strings.Trim(s, "-._")
	if len(s) > 200 {
		s = s[:200]
	}
	if s == "" {
		s = "unnamed"
	}
	return s
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:8]
}

func newResource(kind, name string, ctx taskContext) *Resource {
	where := fmt.Sprintf("%s:%d", ctx.file, ctx.line)
	c := "from " + where
	if ctx.name != "" {
		c = fmt.Sprintf("from %q, %s", ctx.name, where)
	}
	return &Resource{Kind: kind, Name: name, Spec: map[string]any{}, Comments: []string{c}}
}

// convertModule turns one module call into resources.
func (c *converter) convertModule(module string, raw map[string]any, ctx taskContext) ([]*Resource, error) {
	a := newArgs(raw)
	var rs []*Resource
	var err error
	switch module {
	case "user":
		rs, err = c.user(a, ctx)
	case "group":
		rs, err = c.group(a, ctx)
	case "file":
		rs, err = c.fileModule(a, ctx)
	case "copy", "template":
		rs, err = c.copyModule(module, a, ctx)
	case "lineinfile":
		rs, err = c.lineinfile(a, ctx)
	case "apt", "dnf", "package":
		rs, err = c.pkg(module, a, ctx)
	case "service", "systemd":
		rs, err = c.service(a, ctx)
	case "cron":
		rs, err = c.cron(a, ctx)
	case "sysctl":
		rs, err = c.sysctl(a, ctx)
	case "mount":
		rs, err = c.mount(a, ctx)
	case "hostname":
		rs, err = c.hostname(a, ctx)
	case "authorized_key":
		rs, err = c.authorizedKey(a, ctx)
	case "command", "shell":
		rs, err = c.command(module, raw, ctx)
		return rs, err
	case "blockinfile":
		return nil, fmt.Errorf("no Optimus kind manages a marked block of lines: manage the whole file with File, or each line with LineInFile")
	case "debug", "assert", "fail", "pause", "meta", "set_fact", "setup", "gather_facts", "wait_for", "stat":
		return nil, fmt.Errorf("%s is about the Ansible run itself and changes no host state; it has no Optimus equivalent", module)
	default:
		return nil, fmt.Errorf("module %s is not converted (supported: user, group, file, copy, template, lineinfile, apt, dnf, package, service, systemd, cron, sysctl, mount, hostname, authorized_key, command and shell with creates or removes)", module)
	}
	if err != nil {
		return nil, err
	}
	if err := a.rest(); err != nil {
		return nil, err
	}
	return rs, nil
}

func state(a *args, allowed map[string]string) (string, error) {
	s := a.str("state")
	if s == "" {
		return "", nil
	}
	out, ok := allowed[s]
	if !ok {
		return "", fmt.Errorf("state %s has no Optimus equivalent", s)
	}
	return out, nil
}

func (c *converter) user(a *args, ctx taskContext) ([]*Resource, error) {
	name := a.str("name", "user")
	if name == "" {
		return nil, fmt.Errorf("user: name is required")
	}
	r := newResource("User", resName(name), ctx)
	s := r.Spec
	s["name"] = name
	st, err := state(a, map[string]string{"present": "", "absent": "absent"})
	if err != nil {
		return nil, err
	}
	if st != "" {
		s["state"] = st
	}
	if v := a.str("uid"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("uid %q is not a number", v)
		}
		s["uid"] = n
	}
	if v := a.str("group"); v != "" {
		s["group"] = v
	}
	if a.has("groups") {
		s["groups"] = toAny(a.list("groups"))
	}
	if v, ok := a.boolean("append"); ok && v {
		s["append"] = true
	}
	for from, to := range map[string]string{"shell": "shell", "home": "home", "comment": "comment"} {
		if v := a.str(from); v != "" {
			s[to] = v
		}
	}
	if v, ok := a.boolean("create_home"); ok {
		s["createHome"] = v
	} else if v, ok := a.boolean("createhome"); ok {
		s["createHome"] = v
	}
	if v, ok := a.boolean("system"); ok && v {
		s["system"] = true
	}
	if v, ok := a.boolean("remove"); ok && v {
		s["removeHome"] = true
	}
	if a.has("password") {
		env := "OPTIMUS_PASSWORD_HASH_" + strings.ToUpper(nameClean.ReplaceAllString(name, "_"))
		s["passwordHashFrom"] = map[string]any{"env": env}
		r.Comments = append(r.Comments, "note: the password hash is never written in a manifest: set "+env+" to it (or use {file: PATH})")
	}
	a.ignore("update_password", "password_lock")
	return []*Resource{r}, nil
}

func (c *converter) group(a *args, ctx taskContext) ([]*Resource, error) {
	name := a.str("name")
	if name == "" {
		return nil, fmt.Errorf("group: name is required")
	}
	r := newResource("Group", resName(name), ctx)
	r.Spec["name"] = name
	st, err := state(a, map[string]string{"present": "", "absent": "absent"})
	if err != nil {
		return nil, err
	}
	if st != "" {
		r.Spec["state"] = st
	}
	if v := a.str("gid"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("gid %q is not a number", v)
		}
		r.Spec["gid"] = n
	}
	if v, ok := a.boolean("system"); ok && v {
		r.Spec["system"] = true
	}
	return []*Resource{r}, nil
}

func (c *converter) fileModule(a *args, ctx taskContext) ([]*Resource, error) {
	path := a.str("path", "dest", "name")
	if path == "" {
		return nil, fmt.Errorf("file: path is required")
	}
	if v, ok := a.boolean("recurse"); ok && v {
		return nil, fmt.Errorf("recurse has no Optimus equivalent: give each file its own resource")
	}
	st := a.str("state")
	var r *Resource
	switch st {
	case "directory":
		r = newResource("Directory", resName(path), ctx)
	case "link":
		r = newResource("Symlink", resName(path), ctx)
		target := a.str("src")
		if target == "" {
			return nil, fmt.Errorf("file state=link needs src")
		}
		r.Spec["target"] = target
		if v, ok := a.boolean("force"); ok && v {
			r.Spec["force"] = true
		}
		a.ignore("follow")
		r.Spec["path"] = path
		return []*Resource{r}, nil
	case "absent":
		r = newResource("File", resName(path), ctx)
		r.Spec["state"] = "absent"
		r.Comments = append(r.Comments, "note: Ansible removes a directory here too; File removes only a file (use Directory with force for a tree)")
		r.Spec["path"] = path
		return []*Resource{r}, nil
	case "touch", "file", "":
		r = newResource("File", resName(path), ctx)
		if st != "touch" {
			r.Comments = append(r.Comments, "note: Ansible fails when the file is missing; Optimus creates it empty")
		}
		a.ignore("modification_time", "access_time")
	default:
		return nil, fmt.Errorf("state %s has no Optimus equivalent", st)
	}
	r.Spec["path"] = path
	if err := a.mode(r.Spec); err != nil {
		return nil, err
	}
	a.owner(r.Spec)
	return []*Resource{r}, nil
}

func (c *converter) copyModule(module string, a *args, ctx taskContext) ([]*Resource, error) {
	dest := a.str("dest", "path")
	if dest == "" {
		return nil, fmt.Errorf("%s: dest is required", module)
	}
	if strings.HasSuffix(dest, "/") {
		return nil, fmt.Errorf("dest %s is a directory: give the file's full path", dest)
	}
	r := newResource("File", resName(dest), ctx)
	s := r.Spec
	s["path"] = dest
	if a.has("content") && module == "copy" {
		content := a.str("content")
		s["content"] = content
	} else {
		src := a.str("src")
		if src == "" {
			return nil, fmt.Errorf("%s: src or content is required", module)
		}
		if strings.HasSuffix(src, "/") {
			return nil, fmt.Errorf("src %s is a directory: copy its files one by one", src)
		}
		if v, ok := a.boolean("remote_src"); ok && v {
			return nil, fmt.Errorf("remote_src has no Optimus equivalent (File copies from where optimus runs)")
		}
		sub := "files"
		if module == "template" {
			sub = "templates"
		}
		if !filepath.IsAbs(src) {
			src = filepath.Join(c.roleDir, sub, src)
		}
		abs, err := filepath.Abs(src)
		if err != nil {
			return nil, err
		}
		s["source"] = abs
		if module == "template" {
			// A template Optimus cannot render would make the whole output
			// fail validation: it is reported here instead.
			b, err := os.ReadFile(abs)
			if err != nil {
				return nil, fmt.Errorf("template: %v", err)
			}
			if _, err := jinja.Parse(string(b)); err != nil {
				return nil, fmt.Errorf("template %s: %v", src, err)
			}
			s["template"] = map[string]any{"engine": "jinja2"}
		}
	}
	if err := a.mode(s); err != nil {
		return nil, err
	}
	a.owner(s)
	if v := a.str("validate"); v != "" {
		s["validate"] = v
	}
	if v, ok := a.boolean("force"); ok && !v {
		return nil, fmt.Errorf("force: no (write only when missing) has no Optimus equivalent")
	}
	a.ignore("backup", "unsafe_writes", "trim_blocks", "newline_sequence")
	if v, ok := a.boolean("decrypt"); ok && !v {
		return nil, fmt.Errorf("decrypt: no has no Optimus equivalent")
	}
	return []*Resource{r}, nil
}

func (c *converter) lineinfile(a *args, ctx taskContext) ([]*Resource, error) {
	path := a.str("path", "dest", "name")
	if path == "" {
		return nil, fmt.Errorf("lineinfile: path is required")
	}
	if v, ok := a.boolean("backrefs"); ok && v {
		return nil, fmt.Errorf("backrefs has no Optimus equivalent")
	}
	if a.str("insertbefore") != "" {
		return nil, fmt.Errorf("insertbefore has no Optimus equivalent (insertAfter does)")
	}
	line, re, after := a.str("line"), a.str("regexp"), a.str("insertafter")
	if after == "BOF" {
		return nil, fmt.Errorf("insertafter: BOF has no Optimus equivalent")
	}
	r := newResource("LineInFile", resName(path, shortHash(line+"\x00"+re)), ctx)
	s := r.Spec
	s["path"] = path
	if line != "" {
		s["line"] = line
	}
	if re != "" {
		s["regexp"] = re
	}
	if after != "" && after != "EOF" {
		s["insertAfter"] = after
	}
	st, err := state(a, map[string]string{"present": "", "absent": "absent"})
	if err != nil {
		return nil, err
	}
	if st != "" {
		s["state"] = st
	}
	if v, ok := a.boolean("create"); ok && v {
		r.Comments = append(r.Comments, "note: create: yes; LineInFile needs the file to exist: add a File for it when it may be missing")
	}
	if a.has("mode") || a.has("owner") || a.has("group") {
		return nil, fmt.Errorf("mode, owner and group belong to a File resource for %s, not to LineInFile", path)
	}
	a.ignore("backup", "firstmatch", "validate", "unsafe_writes")
	return []*Resource{r}, nil
}

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
			r.Comments = append(r.Comments, "note: Ansible reloaded the service; Optimus restarts it")
		}
	default:
		return nil, fmt.Errorf("state %s has no Optimus equivalent", st)
	}
	if v, ok := a.boolean("enabled"); ok {
		r.Spec["enabled"] = v
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

func (c *converter) cron(a *args, ctx taskContext) ([]*Resource, error) {
	name := a.str("name")
	if name == "" {
		return nil, fmt.Errorf("cron: name is required (Optimus finds the entry by it)")
	}
	if v, ok := a.boolean("disabled"); ok && v {
		return nil, fmt.Errorf("disabled: yes (a commented-out entry) has no Optimus equivalent")
	}
	r := newResource("Cron", resName(name), ctx)
	s := r.Spec
	s["name"] = name
	if st, err := state(a, map[string]string{"present": "", "absent": "absent"}); err != nil {
		return nil, err
	} else if st != "" {
		s["state"] = st
	}
	if sp := a.str("special_time"); sp != "" {
		s["schedule"] = "@" + sp
	} else {
		field := func(k string) string {
			if v := a.str(k); v != "" {
				return v
			}
			return "*"
		}
		sched := []string{field("minute"), field("hour"), field("day"), field("month"), field("weekday")}
		if s["state"] != "absent" || strings.Join(sched, " ") != "* * * * *" {
			s["schedule"] = strings.Join(sched, " ")
		}
	}
	if j := a.str("job"); j != "" {
		s["command"] = j
	}
	if u := a.str("user"); u != "" {
		s["user"] = u
	}
	if f := a.str("cron_file"); f != "" {
		s["cronFile"] = filepath.Base(f)
	}
	return []*Resource{r}, nil
}

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

func (c *converter) authorizedKey(a *args, ctx taskContext) ([]*Resource, error) {
	user, key := a.str("user"), strings.TrimSpace(a.str("key"))
	if user == "" || key == "" {
		return nil, fmt.Errorf("authorized_key: user and key are required")
	}
	if strings.HasPrefix(key, "http://") || strings.HasPrefix(key, "https://") {
		return nil, fmt.Errorf("a key fetched from a URL has no Optimus equivalent: write the key itself")
	}
	if v, ok := a.boolean("exclusive"); ok && v {
		return nil, fmt.Errorf("exclusive: yes has no Optimus equivalent (AuthorizedKey keeps the file's other keys)")
	}
	if p := a.str("path"); p != "" {
		return nil, fmt.Errorf("path has no Optimus equivalent (AuthorizedKey writes ~USER/.ssh/authorized_keys)")
	}
	var rs []*Resource
	for _, k := range strings.Split(key, "\n") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		r := newResource("AuthorizedKey", resName(user, shortHash(k)), ctx)
		r.Spec["user"] = user
		r.Spec["key"] = k
		if o := a.str("key_options"); o != "" {
			r.Spec["options"] = o
		}
		if st, err := state(a, map[string]string{"present": "", "absent": "absent"}); err != nil {
			return nil, err
		} else if st != "" {
			r.Spec["state"] = st
		}
		rs = append(rs, r)
	}
	a.ignore("manage_dir", "comment", "validate_certs")
	return rs, nil
}

// command converts command and shell with creates or removes into an
// Exec; as a handler, into an Exec that runs when what notified it changed.
func (c *converter) command(module string, raw map[string]any, ctx taskContext) ([]*Resource, error) {
	a := &args{m: raw, used: map[string]bool{}}
	line := a.str("_raw", "cmd")
	if line == "" {
		if argv := a.list("argv"); len(argv) > 0 {
			q := make([]string, len(argv))
			for i, p := range argv {
				q[i] = shellQuote(p)
			}
			line = strings.Join(q, " ")
		}
	}
	// Free-form commands carry their options as key=value words.
	for _, opt := range []string{"creates", "removes", "chdir"} {
		re := regexp.MustCompile(`(^|\s)` + opt + `=(\S+)`)
		if m := re.FindStringSubmatch(line); m != nil && a.m[opt] == nil {
			a.m[opt] = m[2]
			line = strings.TrimSpace(re.ReplaceAllString(line, " "))
		}
	}
	if line == "" {
		return nil, fmt.Errorf("%s: no command", module)
	}
	creates, removes := a.str("creates"), a.str("removes")
	if !ctx.handler && creates == "" && removes == "" {
		if ctx.changedWhen != nil && ctx.changedWhen.Value == "false" {
			return nil, fmt.Errorf("changed_when: false marks a command that only reads; it has no state to converge")
		}
		return nil, fmt.Errorf("a %s without creates or removes runs on every run; Optimus needs a condition (an Exec with creates, unless or onlyIf): add one", module)
	}
	if ctx.changedWhen != nil {
		return nil, fmt.Errorf("changed_when has no Optimus equivalent")
	}
	r := newResource("Exec", resName(firstNonEmpty(ctx.name, line)), ctx)
	s := r.Spec
	s["command"] = line
	if creates != "" {
		s["creates"] = creates
	}
	if removes != "" {
		s["onlyIf"] = "test -e " + shellQuote(removes)
	}
	if d := a.str("chdir"); d != "" {
		s["cwd"] = d
	}
	if ctx.user != "" && ctx.user != "root" {
		s["user"] = ctx.user
	}
	a.ignore("executable", "warn", "stdin_add_newline", "strip_empty_ends")
	if a.has("stdin") {
		return nil, fmt.Errorf("stdin has no Optimus equivalent")
	}
	if err := a.rest(); err != nil {
		return nil, err
	}
	return []*Resource{r}, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && regexp.MustCompile(`^[A-Za-z0-9@%+=:,./_-]+$`).MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}
