package cron

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// CronDir holds the cronFile form's files.
const CronDir = "/etc/cron.d"

// Marker precedes an entry in a crontab.
func Marker(name string) string { return "# optimus: " + name }

// envQuery prints how crontabs are kept on the host: "crontab" when
// crontab(1) is installed, else "spool DIR GROUP": the directory cron reads
// (Debian's /var/spool/cron/crontabs, else /var/spool/cron) and the group
// of its files (crontab where it exists).
const envQuery = `if command -v crontab >/dev/null 2>&1; then echo "` + envMark + `crontab"; else ` +
	`if [ -d /var/spool/cron/crontabs ] || [ -e /etc/debian_version ]; then sp=/var/spool/cron/crontabs; else sp=/var/spool/cron; fi; ` +
	`g=root; getent group crontab >/dev/null && g=crontab; echo "` + envMark + `spool $sp $g"; fi`

// readCrontab prints the crontab of the user in $u ($sp set by envQuery).
// At most one byte more than reconcilers.ReadLimit is read, so that parse
// can tell a crontab too large to read.
var readCrontab = `if command -v crontab >/dev/null 2>&1; then crontab -l -u "$u" 2>/dev/null | head -c ` + readMax +
	`; else head -c ` + readMax + ` -- "$sp/$u" 2>/dev/null; fi`

var readMax = strconv.Itoa(reconcilers.ReadLimit + 1)

// Reconciler reconciles Cron resources.
type Reconciler struct{}

var (
	_ reconcilers.TypedReconciler[v1alpha1.CronSpec]       = Reconciler{}
	_ reconcilers.TypedDependencyLister[v1alpha1.CronSpec] = Reconciler{}
)

// Kind implements reconcilers.Reconciler.
func (Reconciler) Kind() string { return v1alpha1.CronKind.Kind }

// section markers of the query's output.
const (
	envMark    = "@@optimus-cron "
	userMark   = "@@optimus-crontab "
	fileMark   = "@@optimus-cronfile "
	noFileMark = "@@optimus-nocronfile "
)

// Queries reads, in one command, the crontab of every user that has entries
// and every /etc/cron.d file of the host's Cron resources.
func (Reconciler) Queries(_ *v1alpha1.Host, objs []reconcilers.Object[v1alpha1.CronSpec]) []reconcilers.Query {
	users, files := map[string]bool{}, map[string]bool{}
	for _, o := range objs {
		if o.Spec.CronFile != "" {
			files[o.Spec.CronFile] = true
		} else {
			users[o.Spec.User] = true
		}
	}
	var b strings.Builder
	b.WriteString(envQuery + "\n")
	for _, u := range sorted(users) {
		fmt.Fprintf(&b, "u=%s; echo %s; %s; echo\n", reconcilers.ShellCommand(u), reconcilers.ShellCommand(userMark+u), readCrontab)
	}
	for _, f := range sorted(files) {
		p := reconcilers.ShellCommand(CronDir + "/" + f)
		fmt.Fprintf(&b, "if [ -f %s ]; then echo %s; head -c %s -- %s; echo; else echo %s; fi\n", p, reconcilers.ShellCommand(fileMark+f), readMax, p, reconcilers.ShellCommand(noFileMark+f))
	}
	b.WriteString("exit 0\n")
	return []reconcilers.Query{{Key: "cron", Script: b.String()}}
}

func sorted(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// observed are the crontabs by user and the cron.d files by name (absent:
// missing), each as lines.
type observed struct {
	crontabs map[string][]string
	files    map[string][]string
	env      env
	// tooLarge names the crontabs ("user") and files ("file:NAME") larger
	// than reconcilers.ReadLimit: their lines are not all there.
	tooLarge map[string]bool
}

// env is how the host keeps crontabs (envQuery).
type env struct {
	crontab      bool
	spool, group string
}

func parse(out string) (observed, error) {
	o := observed{crontabs: map[string][]string{}, files: map[string][]string{}, tooLarge: map[string]bool{}}
	var into map[string][]string
	key, prefix, size := "", "", 0
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, envMark):
			f := strings.Fields(strings.TrimPrefix(line, envMark))
			switch {
			case len(f) == 1 && f[0] == "crontab":
				o.env.crontab = true
			case len(f) == 3 && f[0] == "spool":
				o.env.spool, o.env.group = f[1], f[2]
			}
		case strings.HasPrefix(line, userMark):
			into, key, prefix, size = o.crontabs, strings.TrimPrefix(line, userMark), "", 0
			into[key] = []string{}
		case strings.HasPrefix(line, fileMark):
			into, key, prefix, size = o.files, strings.TrimPrefix(line, fileMark), "file:", 0
			into[key] = []string{}
		case strings.HasPrefix(line, noFileMark):
			into = nil
		case into != nil:
			into[key] = append(into[key], line)
			// A section holds the content and the newline echo adds.
			if size += len(line) + 1; size > reconcilers.ReadLimit+1 {
				o.tooLarge[prefix+key] = true
			}
		}
	}
	return o, nil
}

// Line is the entry as cron reads it: in a crontab, or with the user in a
// cron.d file.
func Line(s *v1alpha1.CronSpec) string {
	if s.CronFile != "" {
		return strings.Join(strings.Fields(s.Schedule), " ") + " " + s.User + " " + s.Command
	}
	return strings.Join(strings.Fields(s.Schedule), " ") + " " + s.Command
}

// FileContent is the whole /etc/cron.d file of the cronFile form.
func FileContent(res *v1alpha1.Resource, s *v1alpha1.CronSpec) string {
	return "# Managed by Optimus (" + res.ID() + ").\n" + Line(s) + "\n"
}

// Dependencies orders an entry after the User resource that runs it.
func (Reconciler) Dependencies(obj reconcilers.Object[v1alpha1.CronSpec], all []*v1alpha1.Resource) []v1alpha1.ResourceRef {
	if obj.Spec.State == v1alpha1.StateAbsent {
		return nil
	}
	return reconcilers.AccountDependencies(obj.Spec.User, "", all)
}

// Plan implements reconcilers.TypedReconciler.
func (Reconciler) Plan(_ context.Context, req reconcilers.TypedRequest[v1alpha1.CronSpec]) ([]reconcilers.Action, error) {
	s := req.Spec
	o, err := reconcilers.Parsed(req.Facts, "cron", parse)
	if err != nil {
		return nil, err
	}
	if s.CronFile != "" {
		if o.tooLarge["file:"+s.CronFile] {
			return nil, &reconcilers.TooLargeError{What: CronDir + "/" + s.CronFile, Limit: reconcilers.ReadLimit,
				Hint: "it is left as it is: shrink it or remove it on the host"}
		}
		return planFile(req.Resource, s, o)
	}
	if o.tooLarge[s.User] {
		return nil, &reconcilers.TooLargeError{What: "the crontab of " + s.User, Limit: reconcilers.ReadLimit,
			Hint: "it is left as it is: shrink it with crontab -e -u " + s.User}
	}
	lines, ok := o.crontabs[s.User]
	if !ok || !o.env.crontab && o.env.spool == "" {
		return nil, fmt.Errorf("cron query: no answer for the crontab of %s", s.User)
	}
	cur, found := "", false
	for i, l := range lines {
		if l == Marker(s.Name) && i+1 < len(lines) {
			cur, found = lines[i+1], true
			break
		}
	}
	where := "crontab of " + s.User
	if s.State == v1alpha1.StateAbsent {
		if !found {
			return nil, nil
		}
		return []reconcilers.Action{{
			Op:          reconcilers.OpDelete,
			Description: "remove cron entry " + s.Name + " from the " + where,
			Changes:     []reconcilers.Change{{Field: "entry", Before: cur, After: ""}},
			Script:      editScript(o.env, s.User, s.Name),
			Stdin:       []byte{},
		}}, nil
	}
	want := Line(s)
	if found && cur == want {
		return nil, nil
	}
	op, verb := reconcilers.OpCreate, "add"
	if found {
		op, verb = reconcilers.OpUpdate, "update"
	}
	return []reconcilers.Action{{
		Op:          op,
		Description: verb + " cron entry " + s.Name + " in the " + where,
		Changes:     []reconcilers.Change{{Field: "entry", Before: cur, After: want}},
		Script:      editScript(o.env, s.User, s.Name),
		Stdin:       []byte(Marker(s.Name) + "\n" + want + "\n"),
	}}, nil
}

func planFile(res *v1alpha1.Resource, s *v1alpha1.CronSpec, o observed) ([]reconcilers.Action, error) {
	path := CronDir + "/" + s.CronFile
	lines, exists := o.files[s.CronFile]
	// The query adds a newline after the file: trailing ones do not count.
	cur := strings.TrimRight(strings.Join(lines, "\n"), "\n")
	if s.State == v1alpha1.StateAbsent {
		if !exists {
			return nil, nil
		}
		return []reconcilers.Action{{
			Op:          reconcilers.OpDelete,
			Description: "delete " + path,
			Changes:     []reconcilers.Change{{Field: "state", Before: "present", After: "absent"}},
			Script:      reconcilers.ShellCommand("rm", "-f", "--", path),
		}}, nil
	}
	want := FileContent(res, s)
	if exists && cur == strings.TrimRight(want, "\n") {
		return nil, nil
	}
	op, verb := reconcilers.OpCreate, "create "
	if exists {
		op, verb = reconcilers.OpUpdate, "update "
	}
	return []reconcilers.Action{{
		Op:          op,
		Description: verb + path,
		Changes:     []reconcilers.Change{{Field: "entry", Before: entryOf(lines), After: Line(s)}},
		Diff:        reconcilers.UnifiedDiff(path, joinLines(lines, exists), want),
		Script:      reconcilers.AtomicWriteScript(path, "0644", "root:root"),
		Stdin:       []byte(want),
	}}, nil
}

func joinLines(lines []string, exists bool) string {
	if !exists {
		return ""
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n") + "\n"
}

// entryOf is the first line of a cron.d file that is not a comment.
func entryOf(lines []string) string {
	for _, l := range lines {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			return l
		}
	}
	return ""
}

// editScript replaces the entry marked name in the crontab of user by its
// standard input (the marker and the entry; nothing to remove it), keeping
// every other line. The edit is made on the host, so entries of several
// resources for one user, applied in one batch, do not undo each other.
// Without crontab(1) the spool file is written as crontab would: mode 0600,
// owned by the user and the crontab group, through the same atomic write as
// every file.
func editScript(e env, user, name string) string {
	u := reconcilers.ShellCommand(user)
	var b strings.Builder
	b.WriteString("m=" + reconcilers.ShellCommand(Marker(name)) + "; export m\n")
	b.WriteString("id -u " + u + " >/dev/null 2>&1 || { echo " + reconcilers.ShellCommand("optimus: user "+user+" does not exist: create it first (for example with a User resource)") + " >&2; exit 1; }\n")
	read := "crontab -l -u " + u + " 2>/dev/null"
	if !e.crontab {
		read = "cat " + reconcilers.ShellCommand(e.spool+"/"+user) + " 2>/dev/null"
		sp, g := reconcilers.ShellCommand(e.spool), reconcilers.ShellCommand(e.group)
		// Where cron is not installed yet, its spool directory is made as
		// the cron package makes it.
		b.WriteString("[ -d " + sp + " ] || { mkdir -p " + sp + " && chown root:" + g + " " + sp + " && chmod 1730 " + sp + "; } || exit 1\n")
	}
	// The crontab without the entry, then the entry from standard input.
	b.WriteString("{ { " + read + "; } | awk '$0 == ENVIRON[\"m\"] { skip = 1; next } skip { skip = 0; next } { print }'; cat; } | ")
	if e.crontab {
		return b.String() + "crontab -u " + u + " -\n"
	}
	return b.String() + "(\n" + reconcilers.AtomicWriteScript(e.spool+"/"+user, "0600", user+":"+e.group) + ")\n"
}
