package ansible

import (
	"fmt"
	"strconv"
	"strings"
)

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
