package reconcilers

import (
	"path"
	"strings"
)

// Ownership is the chown argument for owner and group, either of which may
// be empty (left as it is): "alice:staff", "alice", ":staff" or "".
func Ownership(owner, group string) string {
	switch {
	case owner != "" && group != "":
		return owner + ":" + group
	case owner != "":
		return owner
	case group != "":
		return ":" + group
	}
	return ""
}

// AtomicWriteScript writes its standard input to file: to a temporary file
// in the same directory, given mode and ownership (empty: left to the
// defaults), then renamed over file, so readers see the old or the new
// content, never a part. A missing directory is reported, not created.
func AtomicWriteScript(file, mode, ownership string) string {
	return atomicWriteScript(file, mode, ownership, "")
}

// atomicWriteScript is AtomicWriteScript with check, shell lines run with
// the temporary file in $t after its attributes are set and before it is
// moved into place; check exits non-zero to leave file untouched.
func atomicWriteScript(file, mode, ownership, check string) string {
	dir := path.Dir(file)
	var b strings.Builder
	b.WriteString("d=" + ShellCommand(dir) + "\n")
	b.WriteString(`[ -d "$d" ] || { echo "optimus: directory $d does not exist: create it first (for example with a Directory resource)" >&2; exit 1; }` + "\n")
	b.WriteString(`t=$(mktemp "$d/.optimus.XXXXXX") || exit 1` + "\n")
	b.WriteString(`trap 'rm -f "$t"' EXIT` + "\n")
	b.WriteString(`cat >"$t"`)
	if mode != "" {
		b.WriteString(` && chmod ` + ShellCommand(mode) + ` "$t"`)
	}
	if ownership != "" {
		b.WriteString(` && chown ` + ShellCommand(ownership) + ` "$t"`)
	}
	if check != "" {
		b.WriteString(" || exit 1\n" + check + "\n")
		b.WriteString(`mv -f "$t" ` + ShellCommand(file) + ` && trap - EXIT` + "\n")
		return b.String()
	}
	b.WriteString(` && mv -f "$t" ` + ShellCommand(file) + ` && trap - EXIT` + "\n")
	return b.String()
}

// AttributesScript changes the mode and ownership of p; either may be empty.
func AttributesScript(p, mode, ownership string) string {
	var cmds []string
	if mode != "" {
		cmds = append(cmds, ShellCommand("chmod", mode, p))
	}
	if ownership != "" {
		cmds = append(cmds, ShellCommand("chown", ownership, p))
	}
	return strings.Join(cmds, " && ")
}

// AttributeDrift compares the wanted mode, owner and group (empty: not
// managed) with what was observed, and returns the changes with the chmod
// mode and chown argument that fix them (empty when nothing to do).
func AttributeDrift(cur PathInfo, mode, owner, group string) (changes []Change, chmod, chown string, err error) {
	if mode != "" {
		want, err := ParseMode(mode)
		if err != nil {
			return nil, "", "", err
		}
		if want != cur.Mode {
			chmod = OctalMode(want)
			changes = append(changes, Change{Field: "mode", Before: cur.ModeString(), After: chmod})
		}
	}
	var o, g string
	if owner != "" && owner != cur.Owner {
		o = owner
		changes = append(changes, Change{Field: "owner", Before: cur.Owner, After: owner})
	}
	if group != "" && group != cur.Group {
		g = group
		changes = append(changes, Change{Field: "group", Before: cur.Group, After: group})
	}
	return changes, chmod, Ownership(o, g), nil
}

// ChangedFields lists the fields of changes, for descriptions: "mode, owner".
func ChangedFields(changes []Change) string {
	f := make([]string, len(changes))
	for i, c := range changes {
		f[i] = c.Field
	}
	return strings.Join(f, ", ")
}
