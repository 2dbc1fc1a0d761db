package ansible

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/optimus-cm/optimus/internal/jinja"
)

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
	line, re := a.str("line"), a.str("regexp", "regex")
	after, before := a.str("insertafter"), a.str("insertbefore")
	if after != "" && before != "" {
		return nil, fmt.Errorf("lineinfile: insertafter and insertbefore are exclusive")
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
	if before != "" {
		s["insertBefore"] = before
	}
	st, err := state(a, map[string]string{"present": "", "absent": "absent"})
	if err != nil {
		return nil, err
	}
	if st != "" {
		s["state"] = st
	}
	if v, ok := a.boolean("create"); ok && v {
		s["create"] = true
	}
	if v := a.str("validate"); v != "" {
		s["validate"] = v
	}
	if err := a.mode(s); err != nil {
		return nil, err
	}
	a.owner(s)
	a.ignore("backup", "firstmatch", "unsafe_writes")
	return []*Resource{r}, nil
}
