package reconcilers

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/optimus-cm/optimus/transport"
)

// Optimus runs as root among users who may be hostile. Everything a kind
// writes, chmods, chowns or deletes goes through one rule, checked twice:
// when observing (CheckPath, from the records of a PathsQuery, so a refusal
// fails the resource instead of planning a fix forever) and again when
// acting (Guard, in the script itself, which is authoritative):
//
//   - Walking from /, a directory owned by root that no other user can write
//     (or that is sticky, like /tmp) is trusted: only root can change it, so
//     what was checked is what is acted on.
//   - The first directory owned by another user hands the rest of the path to
//     that user: the action then runs as that user (setpriv), the way OpenSSH
//     reads ~/.ssh, so a symbolic link, hard link or directory swapped in
//     between observe and act gives the action no more than that user has.
//   - A symbolic link on the way is followed only when root owns it and it
//     lies in trusted directories; any other is refused, naming what it
//     points to and who owns it. A directory that other users can write
//     without being sticky is refused.
//   - In a sticky directory, an existing target owned by another user is
//     that user's: acted on as that user.

// Control says who besides root controls a path.
type Control struct {
	// UID and User of the controlling user; UID 0 means only root.
	UID  int
	User string
	// Via is the path that hands control to User.
	Via string
}

// Root reports whether only root controls the path.
func (c Control) Root() bool { return c.UID == 0 }

// UnsafePathError is a path Optimus refuses to act on, and why.
type UnsafePathError struct {
	Path   string
	Reason string
}

func (e *UnsafePathError) Error() string { return e.Reason }

// ancestors lists the directories above p, from "/" down.
func ancestors(p string) []string {
	p = path.Clean(p)
	if p == "/" {
		return nil
	}
	out := []string{"/"}
	for i := 1; i < len(p); i++ {
		if p[i] == '/' {
			out = append(out, p[:i])
		}
	}
	return out
}

// checkPath applies the rule above to p with the records of a PathsQuery
// (which lists every ancestor of every path it inspects). A root-owned
// symbolic link in trusted directories ends the check: its target is checked
// when acting.
func checkPath(m map[string]PathInfo, p string) (Control, error) {
	var c Control
	sticky := false
	for _, a := range ancestors(p) {
		info, ok := m[a]
		if !ok || !info.Exists {
			return c, nil // nothing below exists yet; acting creates it
		}
		switch info.Type {
		case "symlink":
			if c.Root() && info.UID == 0 {
				return c, nil
			}
			return c, &UnsafePathError{Path: a, Reason: fmt.Sprintf(
				"%s is a symbolic link to %s owned by %s; refusing to follow it", a, info.Target, info.Owner)}
		case "directory":
		default:
			return c, &UnsafePathError{Path: a, Reason: fmt.Sprintf("%s is %s, not a directory", a, info.Describe())}
		}
		if !c.Root() {
			continue
		}
		sticky = info.Mode&fs.ModeSticky != 0
		switch {
		case info.UID != 0:
			c = Control{UID: info.UID, User: info.Owner, Via: a}
		case !sticky && info.Mode&0o002 != 0:
			return c, &UnsafePathError{Path: a, Reason: fmt.Sprintf(
				"%s is writable by every user (mode %s) and not sticky; refusing to act below it", a, info.ModeString())}
		case !sticky && info.Mode&0o020 != 0 && info.GID != 0:
			return c, &UnsafePathError{Path: a, Reason: fmt.Sprintf(
				"%s is writable by group %s (mode %s); refusing to act below it: its members could swap what is there", a, info.Group, info.ModeString())}
		}
	}
	if target, ok := m[path.Clean(p)]; ok && target.Exists && c.Root() && sticky && target.UID != 0 {
		c = Control{UID: target.UID, User: target.Owner, Via: target.Path}
	}
	return c, nil
}

// CheckOwner refuses to give a path the wanted owner when another user
// controls it: that user could swap the file at any time, so keeping it owned
// by someone else protects nothing and acting would run as that user anyway.
func (p PathInfo) CheckOwner(owner string) error {
	c := p.Control
	if c.Root() || owner == "" || owner == c.User {
		return nil
	}
	return &UnsafePathError{Path: p.Path, Reason: fmt.Sprintf(
		"%s cannot be owned by %s: %s is controlled by %s, who could replace it at any time; manage it as %s or move it elsewhere",
		p.Path, owner, c.Via, c.User, c.User)}
}

// CheckAttributes refuses to chmod or chown a regular file with other hard
// links: the change would reach every other name of the file too, which may
// be a file of root's (a user can link to a file they cannot write).
func (p PathInfo) CheckAttributes() error {
	if p.Type == "file" && p.Links > 1 {
		return &UnsafePathError{Path: p.Path, Reason: fmt.Sprintf(
			"%s has %d hard links (owned by %s); refusing to change its mode or owner, which would change every other name of the file too",
			p.Path, p.Links, p.Owner)}
	}
	return nil
}

// FindRecordsCommand is a shell command that prints the records of the
// paths args (shell words) the way a PathsQuery does, then END; see
// ParseFindRecords.
func FindRecordsCommand(args string) string {
	return "find " + args + " -maxdepth 0 -printf " + findFormat + " 2>/dev/null; printf 'END\\0'"
}

// AncestorsShell is shell code that sets the positional parameters to the
// directories above the path in variable p (which must be absolute), then p.
const AncestorsShell = `set -- /; _ga= _gr=${p#/}; while :; do case $_gr in */*) ;; *) break ;; esac; _ga=$_ga/${_gr%%/*}; _gr=${_gr#*/}; set -- "$@" "$_ga"; done; set -- "$@" "$p"`

// ParseFindRecords parses records printed by FindRecordsCommand, up to END,
// and returns what follows.
func ParseFindRecords(out []byte) (map[string]PathInfo, []byte, error) {
	m := map[string]PathInfo{}
	var last names
	for {
		var fields [12][]byte
		for i := range fields {
			j := bytes.IndexByte(out, 0)
			if j < 0 {
				return nil, nil, fmt.Errorf("truncated output")
			}
			fields[i], out = out[:j], out[j+1:]
			if i == 0 && string(fields[0]) == "END" {
				return m, out, nil
			}
		}
		info, err := last.parseRecord(fields)
		if err != nil {
			return nil, nil, err
		}
		m[info.Path] = info
	}
}

// CheckPathIn returns what records say of p, with its Control, or an
// *UnsafePathError (see the top of this file).
func CheckPathIn(records map[string]PathInfo, p string) (PathInfo, error) {
	info, ok := records[p]
	if !ok {
		info = PathInfo{Path: p}
	}
	c, err := checkPath(records, p)
	info.Control = c
	return info, err
}

// Guard wraps body, a shell script acting on p, in the act-time check of
// the rule above: it fails with the reason when p is unsafe, and runs body
// as the user who controls p when that is not root (stdin passes through).
// owner, when not empty, is the owner body gives p: refused when another
// user controls p. Every kind that writes, chmods, chowns or deletes a path
// builds its script with Guard. The script calls the guard function that
// Optimus's persistent shell defines once per connection (see
// transport.Conn): run by any other shell it fails, changing nothing.
func Guard(p, owner, body string) string {
	return GuardExpr("", ShellCommand(p), ShellCommand(owner), body)
}

// GuardExpr is Guard for a path known only on the host: setup (read-only,
// run as root) computes it, pathExpr and ownerExpr are shell words, and the
// variables body needs from setup must be exported.
func GuardExpr(setup, pathExpr, ownerExpr, body string) string {
	return guard(setup, pathExpr, ownerExpr, "", body)
}

// GuardCreatingExpr is GuardExpr that creates the missing directories above
// the path first, as root where only root controls them.
func GuardCreatingExpr(setup, pathExpr, ownerExpr, body string) string {
	return guard(setup, pathExpr, ownerExpr, createAncestors, body)
}

// Modes of guard: what it creates of a missing path.
const (
	createNothing   = ""
	createAncestors = "a" // the directories above the path
	createDirectory = "d" // those and the path itself, as a directory
)

func guard(setup, pathExpr, ownerExpr, create, body string) string {
	var b strings.Builder
	// _og itself is defined by the persistent shell (transport's
	// guardShell), once per connection rather than in every command.
	b.WriteString(setup)
	b.WriteString("_og " + pathExpr + " " + ownerExpr)
	if create != createNothing {
		b.WriteString(" " + create)
	}
	b.WriteString(" || exit 1\n")
	b.WriteString("_ob=" + ShellCommand(body) + "\n")
	// setpriv drops root's capabilities with its uid; the user's own groups
	// come with it so that a group they belong to can be given.
	// Isolated, so that nothing the user runs keeps the shell's output.
	b.WriteString(`if [ -n "$_gU" ]; then export _gU; ` + transport.Isolate(`setpriv --reuid="$_gU" --regid="$(id -g -- "$_gU")" --init-groups -- sh -c "$_ob"`) + `; exit; fi` + "\n")
	b.WriteString(`eval "$_ob"` + "\n")
	return b.String()
}
