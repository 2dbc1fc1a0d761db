package ansible

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/google/shlex"
)

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
	if module == "command" && !a.has("argv") {
		var err error
		if line, err = commandLine(line); err != nil {
			return nil, err
		}
	}
	creates, removes, chdir := a.str("creates"), a.str("removes"), a.str("chdir")
	// Ansible changes to chdir before it looks for creates and removes, so
	// a relative path is relative to it.
	for _, p := range []*string{&creates, &removes} {
		if *p == "" || path.IsAbs(*p) {
			continue
		}
		if chdir == "" || !path.IsAbs(chdir) {
			return nil, fmt.Errorf("%s is relative and there is no absolute chdir to resolve it against: make it absolute", *p)
		}
		*p = path.Join(chdir, *p)
	}
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
	if chdir != "" {
		s["cwd"] = chdir
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

// commandLine turns the command module's line into a shell command line
// that runs the same words. The command module splits its line as
// Python's shlex does and runs it without a shell, so $HOME, *, |, > and ;
// are plain words there; Exec runs /bin/sh -c, so each word is quoted
// where the shell would read it otherwise (rm -rf /tmp/x * must not glob).
func commandLine(line string) (string, error) {
	words, err := shlex.Split(line)
	if err != nil {
		return "", fmt.Errorf("command %q does not split into words as Ansible's command module splits it: %v", line, err)
	}
	joined := strings.Join(words, " ")
	if strings.Count(joined, "#") != strings.Count(line, "#") {
		// The splitter takes a word starting with # for a comment, where
		// Ansible passes it on.
		return "", fmt.Errorf("command %q has a word starting with #: write the command with argv, or as shell", line)
	}
	for i, w := range words {
		words[i] = shellQuote(w)
	}
	return strings.Join(words, " "), nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && regexp.MustCompile(`^[A-Za-z0-9@%+=:,./_-]+$`).MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}
