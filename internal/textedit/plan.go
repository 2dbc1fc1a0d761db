package textedit

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// ContentLimit is the largest file LineInFile and BlockInFile edit: its
// content is read in the observe phase to plan the edit.
const ContentLimit = 4 << 20

// Target is the file an edit applies to and what else the resource wants
// of it.
type Target struct {
	// Kind names the resource's kind in messages: "LineInFile".
	Kind string
	Path string
	// Mode, Owner and Group: empty leaves them as they are (0644 and
	// root for a file the edit creates).
	Mode, Owner, Group string
	// Validate checks the new content as File's validate does.
	Validate string
	// Create starts from an empty file when there is none.
	Create bool
	// Absent: the resource removes what it manages; a missing file is
	// then no work.
	Absent bool
}

// Observe returns the file's current state and lines, refusing what an
// edit must not touch: not a regular file, a file with other names, too
// large, or not text. A missing file has no lines.
func Observe(f *reconcilers.Facts, t Target) (reconcilers.PathInfo, []string, error) {
	cur, err := reconcilers.FindPath(f, t.Path)
	if err != nil {
		return cur, nil, err
	}
	if err := cur.CheckOwner(t.Owner); err != nil {
		return cur, nil, err
	}
	switch {
	case !cur.Exists:
		return cur, nil, nil
	case cur.Type != reconcilers.TypeFile:
		return cur, nil, fmt.Errorf("%s is %s, not a regular file", t.Path, cur.Describe())
	case cur.Links > 1:
		return cur, nil, fmt.Errorf("%s has %d hard links (owned by %s): %s does not edit a file that has other names", t.Path, cur.Links, cur.Owner, t.Kind)
	case cur.Size > ContentLimit:
		return cur, nil, &reconcilers.TooLargeError{What: t.Path, Size: cur.Size, Limit: ContentLimit, Hint: t.Kind + " does not edit files that large; manage it with a File resource"}
	case !cur.HasContent:
		return cur, nil, fmt.Errorf("%s changed while it was read; the next run reads it again", t.Path)
	case !reconcilers.IsText(cur.Content):
		return cur, nil, fmt.Errorf("%s is not a text file (it holds NUL bytes or invalid UTF-8)", t.Path)
	}
	return cur, SplitLines(string(cur.Content)), nil
}

// Plan returns the action that applies ops (planned from lines, the
// content observed in cur) and gives the file the wanted attributes; none
// when there is nothing to do. changes describe the ops for people; they
// are redacted, and every line registered as a secret, when the file is
// sensitive (a File resource says so).
//
// what says what the edit does, for the action's description, and ends
// where the path goes: "add a line to".
func Plan(t Target, cur reconcilers.PathInfo, lines []string, ops []Op, changes []reconcilers.Change, what string) ([]reconcilers.Action, error) {
	if !cur.Exists && t.Absent {
		return nil, nil
	}
	after := Apply(lines, ops...)
	edited := len(ops) > 0 && (!cur.Exists || Join(after) != Join(lines))
	if !cur.Exists && t.Create {
		edited = true // an empty file is still a file to create
	}
	var attrs []reconcilers.Change
	var chmod, chown string
	if cur.Exists {
		var err error
		if attrs, chmod, chown, err = reconcilers.AttributeDrift(cur, t.Mode, t.Owner, t.Group); err != nil {
			return nil, fmt.Errorf("spec.mode: %w", err)
		}
	}
	if !edited {
		if len(attrs) == 0 {
			return nil, nil
		}
		if err := cur.CheckAttributes(); err != nil {
			return nil, err
		}
		return []reconcilers.Action{{
			Op:          reconcilers.OpUpdate,
			Description: "change " + reconcilers.ChangedFields(attrs) + " of file " + t.Path,
			Changes:     attrs,
			Script:      reconcilers.AttributesScript(t.Path, chmod, chown),
		}}, nil
	}

	// The edited content goes to a new inode: it gets the wanted
	// attributes, or the current ones where the spec leaves them alone.
	mode, owner, group := t.Mode, t.Owner, t.Group
	a := reconcilers.Action{Op: reconcilers.OpUpdate}
	switch {
	case !cur.Exists:
		// Mode and owner left empty are decided when the edit runs: the
		// file's own if a File made it in this run, 0644 and root for a
		// file the edit creates.
		if mode != "" {
			m, err := reconcilers.ParseMode(mode)
			if err != nil {
				return nil, fmt.Errorf("spec.mode: %w", err)
			}
			mode = reconcilers.OctalMode(m)
		}
		a.Description = what + " " + t.Path
		if t.Create {
			a.Op = reconcilers.OpCreate
			a.Description = "create " + t.Path + " and " + what + " it"
			attrs = append(attrs, reconcilers.Change{Field: "mode", After: cmp.Or(mode, "0644")})
			if owner != "" {
				attrs = append(attrs, reconcilers.Change{Field: "owner", After: owner})
			}
			if group != "" {
				attrs = append(attrs, reconcilers.Change{Field: "group", After: group})
			}
		}
	default:
		if chmod != "" {
			mode = chmod
		} else {
			mode = cur.ModeString()
		}
		// Under a directory another user controls, the action runs as that
		// user, who can give the new file only their own ownership.
		if owner == "" && cur.Control.Root() {
			owner = strconv.Itoa(cur.UID)
		}
		if group == "" && cur.Control.Root() {
			group = strconv.Itoa(cur.GID)
		}
		a.Description = what + " " + t.Path
		if len(attrs) > 0 {
			a.Description += " and change its " + reconcilers.ChangedFields(attrs)
		}
	}
	if t.Validate != "" {
		a.Description += " (validated by " + t.Validate + ")"
	}
	if cur.MountPoint {
		a.Description += " (in place: it is a mount point, which rename cannot replace)"
	}
	a.Changes = append(changes, attrs...)
	prep, cmd, input := Command(ops, cur.Sensitive)
	a.Script = reconcilers.ValidatedEditScript(t.Path, mode, reconcilers.Ownership(owner, group), t.Validate, t.Create, prep, cmd)
	a.Stdin = input
	if !cur.Sensitive {
		a.Diff = reconcilers.UnifiedDiff(t.Path, Join(lines), Join(after))
		return []reconcilers.Action{a}, nil
	}
	// A File marks the path sensitive: none of its lines may be shown, and
	// each is registered for scrubbing (before the changes are redacted).
	secret := func(ls ...string) {
		for _, l := range ls {
			if strings.TrimSpace(l) != "" {
				a.Secrets = append(a.Secrets, l)
			}
		}
	}
	for _, op := range ops {
		secret(append([]string{op.Line, op.Old}, op.Lines...)...)
	}
	for _, c := range changes {
		secret(strings.Split(c.Before, "\n")...)
		secret(strings.Split(c.After, "\n")...)
	}
	a.Changes = make([]reconcilers.Change, 0, len(changes)+len(attrs))
	for _, c := range changes {
		c.Before, c.After = redact(c.Before), redact(c.After)
		a.Changes = append(a.Changes, c)
	}
	a.Changes = append(a.Changes, attrs...)
	return []reconcilers.Action{a}, nil
}

func redact(s string) string {
	if s == "" {
		return ""
	}
	return reconcilers.Redacted
}

// FileDependencies are the resources an edit of path waits for: the File
// resource that makes it and the Directory resources that hold it.
func FileDependencies(path string, all []*v1alpha1.Resource) []v1alpha1.ResourceRef {
	deps := reconcilers.DirectoryDependencies(path, all)
	for _, o := range all {
		if f, ok := reconcilers.SpecOf[v1alpha1.FileSpec](o); ok && f.Path == path && f.State != v1alpha1.StateAbsent {
			deps = append(deps, o.Ref())
		}
	}
	return deps
}
