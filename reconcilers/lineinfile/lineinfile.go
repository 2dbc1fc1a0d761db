package lineinfile

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// ContentLimit is the largest file LineInFile edits: its content is read in
// the observe phase to match the regular expressions.
const ContentLimit = 4 << 20

// Reconciler reconciles LineInFile resources.
type Reconciler struct{}

var (
	_ reconcilers.TypedReconciler[v1alpha1.LineInFileSpec]       = Reconciler{}
	_ reconcilers.TypedDependencyLister[v1alpha1.LineInFileSpec] = Reconciler{}
)

// Kind implements reconcilers.Reconciler.
func (Reconciler) Kind() string { return v1alpha1.LineInFileKind.Kind }

// Queries reads every edited file of the host in one command.
func (Reconciler) Queries(_ *v1alpha1.Host, objs []reconcilers.Object[v1alpha1.LineInFileSpec]) []reconcilers.Query {
	return reconcilers.QueryPaths(objs, func(s *v1alpha1.LineInFileSpec) reconcilers.PathRequest {
		return reconcilers.PathRequest{Path: s.Path, ContentLimit: ContentLimit}
	})
}

// Dependencies orders the edit after the File resource that makes the file
// and the Directory resources that hold it.
func (Reconciler) Dependencies(obj reconcilers.Object[v1alpha1.LineInFileSpec], all []*v1alpha1.Resource) []v1alpha1.ResourceRef {
	s := obj.Spec
	deps := reconcilers.DirectoryDependencies(s.Path, all)
	for _, o := range all {
		if f, ok := reconcilers.SpecOf[v1alpha1.FileSpec](o); ok && f.Path == s.Path && f.State != v1alpha1.StateAbsent {
			deps = append(deps, o.Ref())
		}
	}
	return deps
}

// edit is one change expressed with exact lines, so that it still applies
// when another resource changed other lines of the file in the same cycle.
type edit struct {
	mode   string // replace, insert or delete
	line   string
	old    string   // replace: the line to replace
	anchor *string  // insert: after the last line equal to it; nil: at the end
	delete []string // delete: every line equal to one of these
}

// Plan implements reconcilers.Reconciler.
func (Reconciler) Plan(_ context.Context, req reconcilers.TypedRequest[v1alpha1.LineInFileSpec]) ([]reconcilers.Action, error) {
	s := req.Spec
	cur, err := reconcilers.FindPath(req.Facts, s.Path)
	if err != nil {
		return nil, err
	}
	var lines []string
	switch {
	case !cur.Exists && s.State == v1alpha1.StateAbsent:
		return nil, nil
	case !cur.Exists:
		// Perhaps a File resource creates it in this cycle: the action says
		// so clearly if it still does not exist then.
	case cur.Type != reconcilers.TypeFile:
		return nil, fmt.Errorf("%s is %s, not a regular file", s.Path, cur.Describe())
	case cur.Links > 1:
		return nil, fmt.Errorf("%s has %d hard links (owned by %s): LineInFile does not edit a file that has other names", s.Path, cur.Links, cur.Owner)
	case cur.Size > ContentLimit:
		return nil, &reconcilers.TooLargeError{What: s.Path, Size: cur.Size, Limit: ContentLimit, Hint: "LineInFile does not edit files that large; manage it with a File resource"}
	case !cur.HasContent:
		return nil, fmt.Errorf("%s changed while it was read; the next run reads it again", s.Path)
	case !reconcilers.IsText(cur.Content):
		return nil, fmt.Errorf("%s is not a text file (it holds NUL bytes or invalid UTF-8)", s.Path)
	default:
		lines = splitLines(string(cur.Content))
	}
	e, err := plan(s, lines)
	if err != nil || e == nil {
		return nil, err
	}
	a := reconcilers.Action{Op: reconcilers.OpUpdate, Script: script(s.Path, e)}
	switch e.mode {
	case "replace":
		a.Description = "replace a line of " + s.Path
		a.Changes = []reconcilers.Change{{Field: "line", Before: e.old, After: e.line}}
		a.Diff = "--- " + s.Path + "\n+++ " + s.Path + "\n-" + e.old + "\n+" + e.line + "\n"
	case "insert":
		a.Description = "add a line to " + s.Path
		a.Changes = []reconcilers.Change{{Field: "line", After: e.line}}
		a.Diff = "--- " + s.Path + "\n+++ " + s.Path + "\n+" + e.line + "\n"
	case "delete":
		a.Description = fmt.Sprintf("remove %d line(s) from %s", len(e.delete), s.Path)
		a.Changes = []reconcilers.Change{{Field: "line", Before: strings.Join(e.delete, "\n")}}
		a.Diff = "--- " + s.Path + "\n+++ " + s.Path + "\n-" + strings.Join(e.delete, "\n-") + "\n"
	}
	if cur.MountPoint {
		a.Description += " (in place: it is a mount point, which rename cannot replace)"
	}
	// A File marks the path sensitive: none of its lines may be shown.
	if cur.Sensitive {
		for i := range a.Changes {
			a.Changes[i].Before, a.Changes[i].After = redact(a.Changes[i].Before), redact(a.Changes[i].After)
		}
		a.Diff = ""
		for _, l := range append([]string{e.line, e.old}, e.delete...) {
			if strings.TrimSpace(l) != "" {
				a.Secrets = append(a.Secrets, l)
			}
		}
	}
	return []reconcilers.Action{a}, nil
}

func redact(s string) string {
	if s == "" {
		return ""
	}
	return reconcilers.Redacted
}

// plan decides the edit the way Ansible's lineinfile does: the last line
// matching regexp is replaced; without a match the line is added after the
// last line matching insertAfter, or at the end, unless it is already there.
func plan(s *v1alpha1.LineInFileSpec, lines []string) (*edit, error) {
	var re *regexp.Regexp
	if s.Regexp != "" {
		var err error
		if re, err = regexp.Compile(s.Regexp); err != nil {
			return nil, fmt.Errorf("spec.regexp: %w", err)
		}
	}
	if s.State == v1alpha1.StateAbsent {
		e := &edit{mode: "delete"}
		seen := map[string]bool{}
		for _, l := range lines {
			hit := l == s.Line
			if re != nil {
				hit = re.MatchString(l)
			}
			if hit && !seen[l] {
				seen[l] = true
				e.delete = append(e.delete, l)
			}
		}
		if len(e.delete) == 0 {
			return nil, nil
		}
		return e, nil
	}
	if re != nil {
		for i := len(lines) - 1; i >= 0; i-- {
			if re.MatchString(lines[i]) {
				if lines[i] == s.Line {
					return nil, nil
				}
				return &edit{mode: "replace", line: s.Line, old: lines[i]}, nil
			}
		}
	}
	for _, l := range lines {
		if l == s.Line {
			return nil, nil
		}
	}
	e := &edit{mode: "insert", line: s.Line}
	if s.InsertAfter != "" {
		after, err := regexp.Compile(s.InsertAfter)
		if err != nil {
			return nil, fmt.Errorf("spec.insertAfter: %w", err)
		}
		for i := len(lines) - 1; i >= 0; i-- {
			if after.MatchString(lines[i]) {
				e.anchor = &lines[i]
				break
			}
		}
	}
	return e, nil
}

// splitLines splits text into lines without their newlines; a final newline
// does not start another line.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// awkEdit applies an edit given in the environment. It compares whole lines
// as strings, never as patterns, so no line content is interpreted.
const awkEdit = `BEGIN {
	mode = ENVIRON["O_MODE"]; line = ENVIRON["O_LINE"]; old = ENVIRON["O_OLD"]
	anchor = ENVIRON["O_ANCHOR"]; hasAnchor = ENVIRON["O_HAS_ANCHOR"] == "1"
	nd = ENVIRON["O_NDEL"] + 0; split(ENVIRON["O_DEL"], del, "\n")
	for (i = 1; i <= nd; i++) gone[del[i]] = 1
}
{ l[++n] = $0 }
END {
	at = 0; present = 0
	for (i = 1; i <= n; i++) if (l[i] == line) present = 1
	if (mode == "replace") {
		for (i = n; i >= 1; i--) if (l[i] == old) { l[i] = line; present = 1; break }
	}
	if ((mode == "insert" || mode == "replace") && !present) {
		at = n
		if (hasAnchor) for (i = n; i >= 1; i--) if (l[i] == anchor) { at = i; break }
	}
	for (i = 1; i <= n; i++) {
		if (mode == "delete" && (l[i] in gone)) continue
		print l[i]
		if (i == at) print line
	}
	if (n == 0 && at == 0 && !present && mode != "delete") print line
}`

// script edits file atomically, keeping its mode and ownership, under the
// guard of reconcilers.Guard.
func script(file string, e *edit) string {
	env := []string{"O_MODE=" + reconcilers.ShellCommand(e.mode), "O_LINE=" + reconcilers.ShellCommand(e.line),
		"O_OLD=" + reconcilers.ShellCommand(e.old)}
	if e.anchor != nil {
		env = append(env, "O_HAS_ANCHOR=1", "O_ANCHOR="+reconcilers.ShellCommand(*e.anchor))
	}
	if len(e.delete) > 0 {
		env = append(env, fmt.Sprintf("O_NDEL=%d", len(e.delete)), "O_DEL="+reconcilers.ShellCommand(strings.Join(e.delete, "\n")))
	}
	edit := strings.Join(env, " ") + " awk " + reconcilers.ShellCommand(awkEdit) + ` "$f"`
	body := "f=" + reconcilers.ShellCommand(file) + "\n" +
		`[ -e "$f" ] || { echo "optimus: $f does not exist: LineInFile edits an existing file (create it first, for example with a File resource)" >&2; exit 1; }` + "\n" +
		`[ -f "$f" ] && [ ! -L "$f" ] || { echo "optimus: $f is not a regular file" >&2; exit 1; }` + "\n" +
		// A mount point (a bind-mounted /etc/hosts) cannot be replaced by
		// rename: the edited text is written over it in place.
		`if mountpoint -q -- "$f"; then c=$(` + edit + ` && echo .) && printf %s "${c%.}" >"$f"; exit; fi` + "\n" +
		`t=$(mktemp "${f%/*}/.optimus.XXXXXX") || exit 1` + "\n" +
		`trap 'rm -f "$t"' EXIT` + "\n" +
		edit + ` >"$t" &&` + "\n" +
		`chmod "$(stat -c %a "$f")" "$t" && chown "$(stat -c %u:%g "$f")" "$t" && mv -fT "$t" "$f" && trap - EXIT` + "\n"
	return reconcilers.Guard(file, "", body)
}
