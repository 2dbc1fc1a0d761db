package ansible

import (
	"fmt"
	"strings"
)

// ansibleMarker is blockinfile's default marker. The converted resource
// keeps it, so that a block Ansible already wrote is found and updated in
// place rather than written a second time under Optimus's marker.
const ansibleMarker = "# {mark} ANSIBLE MANAGED BLOCK"

func (c *converter) blockinfile(a *args, ctx taskContext) ([]*Resource, error) {
	path := a.str("path", "dest", "destfile", "name")
	if path == "" {
		return nil, fmt.Errorf("blockinfile: path is required")
	}
	marker := firstNonEmpty(a.str("marker"), ansibleMarker)
	r := newResource("BlockInFile", resName(path, shortHash(marker)), ctx)
	s := r.Spec
	s["path"] = path
	s["marker"] = marker
	if v := a.str("marker_begin"); v != "" && v != "BEGIN" {
		s["markerBegin"] = v
	}
	if v := a.str("marker_end"); v != "" && v != "END" {
		s["markerEnd"] = v
	}
	st, err := state(a, map[string]string{"present": "", "absent": "absent"})
	if err != nil {
		return nil, err
	}
	block := a.str("block", "content")
	// Ansible removes the block when it is empty.
	if st == "absent" || strings.TrimSpace(block) == "" {
		s["state"] = "absent"
	} else {
		s["block"] = block
	}
	after, before := a.str("insertafter"), a.str("insertbefore")
	switch {
	case after != "" && before != "":
		return nil, fmt.Errorf("blockinfile: insertafter and insertbefore are exclusive")
	case before != "":
		s["insertBefore"] = before
	case after != "" && after != "EOF":
		s["insertAfter"] = after
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
	for _, k := range []string{"append_newline", "prepend_newline"} {
		if v, ok := a.boolean(k); ok && v {
			return nil, fmt.Errorf("blockinfile: %s has no Optimus equivalent: put the blank line in the block", k)
		}
	}
	a.ignore("backup", "unsafe_writes", "attributes", "seuser", "serole", "setype", "selevel")
	return []*Resource{r}, nil
}
