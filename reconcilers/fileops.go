package reconcilers

import (
	"bytes"
	"path"
	"strings"

	"github.com/optimus-cm/optimus/transport"
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
// content, never a part. A missing directory is reported, not created. A
// file that is a mount point (a bind-mounted /etc/hosts) cannot be replaced
// by rename: it is written in place, with the same mode and ownership. The
// script runs under Guard.
func AtomicWriteScript(file, mode, ownership string) string {
	return atomicWriteScript(file, mode, ownership, "", fromStdin)
}

// fromStdin is the command that fills the temporary file from the
// script's standard input.
const fromStdin = "cat"

// inlineContent is the shell command that prints content, for content that
// travels in the script itself (see InlineContent), or "" when it cannot.
func inlineContent(content []byte) string {
	if len(content) > InlineLimit || bytes.IndexByte(content, 0) >= 0 {
		return ""
	}
	return "printf '%s' " + transport.Quote(string(content))
}

// InlineLimit is the largest content InlineContent lets a script carry: the
// script of a write run as another user becomes an argument of sh -c, which
// Linux bounds at 128 KiB.
const InlineLimit = 16 << 10

// InlineContent reports whether content can travel in the write's script
// rather than on its standard input: small, without NUL bytes, and not
// secret (a secret reaches a host only on a command's standard input).
// Printing it with the shell's own printf starts no process, where a
// payload costs three (head, cat, and the cat that drains what is left).
func InlineContent(content []byte, sensitive bool) bool {
	return !sensitive && inlineContent(content) != ""
}

// atomicWriteScript is AtomicWriteScript with check, shell lines run with
// the temporary file in $t after its attributes are set and before it is
// moved into place; check exits non-zero to leave file untouched. source is
// the command whose output becomes the content.
func atomicWriteScript(file, mode, ownership, check, source string) string {
	attrs := func(target string) string {
		var a string
		if mode != "" {
			a += ` && chmod ` + ShellCommand(mode) + ` ` + target
		}
		if ownership != "" {
			a += ` && chown ` + ShellCommand(ownership) + ` ` + target
		}
		return a
	}
	body := "f=" + ShellCommand(file) + " d=" + ShellCommand(path.Dir(file)) + "\n" +
		`[ -d "$d" ] || { echo "optimus: directory $d does not exist: create it first (for example with a Directory resource)" >&2; exit 1; }` + "\n" +
		`t=$(mktemp "$d/.optimus.XXXXXX") || exit 1` + "\n" +
		`trap 'rm -f "$t"' EXIT` + "\n" +
		source + ` >"$t"` + attrs(`"$t"`) + " || exit 1\n"
	if check != "" {
		body += check + "\n"
	}
	// A mount point (a bind-mounted /etc/hosts) cannot be replaced by
	// rename: its content is written in place instead.
	// No exit on success: callers may append commands to this script.
	body += `if { [ -e "$f" ] || [ -L "$f" ]; } && mountpoint -q -- "$f"; then` + "\n" +
		`	[ -f "$f" ] && [ ! -L "$f" ] || { echo "optimus: $f is a mount point and not a regular file" >&2; exit 1; }` + "\n" +
		`	cat "$t" >"$f"` + attrs(`"$f"`) + " || exit 1\n" +
		`	rm -f "$t"; trap - EXIT` + "\n" +
		`else` + "\n" +
		`	mv -fT "$t" "$f" && trap - EXIT` + "\n" +
		`fi` + "\n"
	return Guard(file, owner(ownership), body)
}

// owner is the user part of a chown argument.
func owner(ownership string) string {
	o, _, _ := strings.Cut(ownership, ":")
	return o
}

// AttributesScript changes the mode and ownership of p; either may be empty.
// It never follows a symbolic link at p and refuses a regular file with
// other hard links (see PathInfo.CheckAttributes). The script runs under
// Guard.
func AttributesScript(p, mode, ownership string) string {
	return Guard(p, owner(ownership), attributesBody(p, mode, ownership))
}

func attributesBody(p, mode, ownership string) string {
	cmds := []string{"p=" + ShellCommand(p),
		`[ ! -L "$p" ] || { echo "optimus: $p is a symbolic link to $(readlink -- "$p"); refusing to follow it" >&2; exit 1; }`,
		`[ ! -f "$p" ] || [ "$(stat -c %h -- "$p")" = 1 ] || { echo "optimus: $p has $(stat -c %h -- "$p") hard links; refusing to change its mode or owner" >&2; exit 1; }`}
	if mode != "" {
		cmds = append(cmds, ShellCommand("chmod", mode)+` -- "$p" || exit 1`)
	}
	if ownership != "" {
		cmds = append(cmds, ShellCommand("chown", "-h", ownership)+` -- "$p" || exit 1`)
	}
	return strings.Join(cmds, "\n") + "\n"
}

// MkdirScript creates directory p and the missing directories above it,
// then gives p mode and ownership. Its guard creates them as root where only
// root controls the path (see Guard); below a directory of another user
// they are created as that user.
func MkdirScript(p, mode, ownership string) string {
	body := "p=" + ShellCommand(p) + ` c= r=${p#/}` + "\n" +
		`while [ -n "$r" ]; do` + "\n" +
		`	c=$c/${r%%/*}; case $r in */*) r=${r#*/} ;; *) r= ;; esac` + "\n" +
		`	[ -d "$c" ] || mkdir -- "$c" || exit 1` + "\n" +
		`done` + "\n" +
		attributesBody(p, mode, ownership)
	return guard("", ShellCommand(p), ShellCommand(owner(ownership)), createDirectory, body)
}

// GuardedCommand runs args (a command acting on p, such as rm or ln) under
// Guard.
func GuardedCommand(p string, args ...string) string {
	return Guard(p, "", ShellCommand(args...)+"\n")
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
