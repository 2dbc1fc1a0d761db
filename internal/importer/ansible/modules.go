package ansible

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
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
		rs, err = c.blockinfile(a, ctx)
	case "debug", "assert", "fail", "pause", "meta", "set_fact", "setup", "gather_facts", "wait_for", "stat":
		return nil, fmt.Errorf("%s is about the Ansible run itself and changes no host state; it has no Optimus equivalent", module)
	default:
		return nil, fmt.Errorf("module %s is not converted (supported: user, group, file, copy, template, lineinfile, blockinfile, apt, dnf, package, service, systemd, cron, sysctl, mount, hostname, authorized_key, command and shell with creates or removes)", module)
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
