package mount

import (
	"context"
	"strconv"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Fstab is the file system table.
const Fstab = "/etc/fstab"

// Reconciler reconciles Mount resources.
type Reconciler struct{}

var (
	_ reconcilers.TypedReconciler[v1alpha1.MountSpec]       = Reconciler{}
	_ reconcilers.TypedDependencyLister[v1alpha1.MountSpec] = Reconciler{}
	_ reconcilers.SharedQuerier                             = Reconciler{}
)

// Kind implements reconcilers.Reconciler.
func (Reconciler) Kind() string { return v1alpha1.MountKind.Kind }

// query reads fstab and the mount table, whatever the number of resources.
var query = reconcilers.Query{Key: "mounts", Script: "head -c " + strconv.Itoa(reconcilers.ReadLimit+1) + " -- " + Fstab +
	" 2>/dev/null; echo; echo @@optimus-mounts; cat /proc/self/mounts"}

// SharedQueries declares the capabilities query, which Hostname shares.
func (Reconciler) SharedQueries() []reconcilers.Query {
	return []reconcilers.Query{reconcilers.QueryCapabilities}
}

// Queries implements reconcilers.TypedReconciler.
func (Reconciler) Queries(_ *v1alpha1.Host, _ []reconcilers.Object[v1alpha1.MountSpec]) []reconcilers.Query {
	return []reconcilers.Query{query, reconcilers.QueryCapabilities}
}

// Dependencies orders a mount after the Directory resource of its mount point.
func (Reconciler) Dependencies(obj reconcilers.Object[v1alpha1.MountSpec], all []*v1alpha1.Resource) []v1alpha1.ResourceRef {
	if obj.Spec.State == v1alpha1.StateAbsent {
		return nil
	}
	return reconcilers.DirectoryDependencies(obj.Spec.Path+"/x", all)
}

// entry is a line of fstab or of the mount table, its fields unescaped.
type entry struct {
	source, path, fstype, options string
	dump, pass                    int
}

func (e entry) String() string {
	return strings.Join([]string{escape(e.source), escape(e.path), e.fstype, e.options, strconv.Itoa(e.dump), strconv.Itoa(e.pass)}, " ")
}

type table struct {
	fstab, mounted map[string]entry // by mount point
}

func parse(out string) (table, error) {
	t := table{fstab: map[string]entry{}, mounted: map[string]entry{}}
	// The fstab, its newline and the one echo adds.
	if i := strings.Index(out, "\n@@optimus-mounts\n"); i > reconcilers.ReadLimit+1 {
		return t, &reconcilers.TooLargeError{What: Fstab, Limit: reconcilers.ReadLimit, Hint: "it is left as it is: look at it on the host"}
	}
	into := t.fstab
	for _, line := range strings.Split(out, "\n") {
		if line == "@@optimus-mounts" {
			into = t.mounted
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || strings.HasPrefix(f[0], "#") {
			continue
		}
		e := entry{source: unescape(f[0]), path: unescape(f[1]), fstype: f[2], options: f[3]}
		if len(f) > 4 {
			e.dump, _ = strconv.Atoi(f[4])
		}
		if len(f) > 5 {
			e.pass, _ = strconv.Atoi(f[5])
		}
		// The last line for a mount point wins, in fstab as in the kernel's
		// table (a mount over a mount).
		into[e.path] = e
	}
	return t, nil
}

// escape writes spaces, tabs and backslashes as fstab(5) octal escapes.
func escape(s string) string {
	return strings.NewReplacer(`\`, `\134`, " ", `\040`, "\t", `\011`, "\n", `\012`).Replace(s)
}

func unescape(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

// editScript replaces the fstab lines of path by the standard input (nothing
// to remove them), keeping every other line, through the same atomic write
// as every file. The edit is made on the host, so several Mount resources
// applied in one batch do not undo each other.
func editScript(path string) string {
	return "p=" + reconcilers.ShellCommand(escape(path)) + "; export p\n" +
		"{ awk '$1 !~ /^#/ && $2 == ENVIRON[\"p\"] { next } { print }' " + Fstab + " 2>/dev/null; cat; } | (\n" +
		reconcilers.AtomicWriteScript(Fstab, "0644", "root:root") + ")\n"
}

// Plan implements reconcilers.TypedReconciler.
func (Reconciler) Plan(_ context.Context, req reconcilers.TypedRequest[v1alpha1.MountSpec]) ([]reconcilers.Action, error) {
	s := req.Spec
	t, err := reconcilers.Parsed(req.Facts, query.Key, parse)
	if err != nil {
		return nil, err
	}
	capable, err := reconcilers.HasCapSysAdmin(req.Facts)
	if err != nil {
		return nil, err
	}
	cur, inFstab := t.fstab[s.Path]
	live, mounted := t.mounted[s.Path]
	want := entry{source: s.Source, path: s.Path, fstype: s.FSType, options: s.Options, dump: s.Dump, pass: s.Pass}

	var changes []reconcilers.Change
	var scripts []string
	var stdin []byte
	var notes []reconcilers.Action
	q := reconcilers.ShellCommand
	// mount runs a mount command and records change, where the host allows.
	mount := func(change *reconcilers.Change, args ...string) {
		if !capable {
			// Without CAP_SYS_ADMIN the mounted state cannot converge: it
			// is noted in every plan, not asked for again.
			what := args[0]
			if args[1] == "-o" {
				what = "remount"
			}
			notes = append(notes, reconcilers.Note("cannot "+what+" "+s.Path+": the host withholds CAP_SYS_ADMIN, so only "+Fstab+" converges"))
			return
		}
		if change != nil {
			changes = append(changes, *change)
		}
		scripts = append(scripts, q(args...))
	}
	change := func(before, after string) *reconcilers.Change {
		return &reconcilers.Change{Field: "mounted", Before: before, After: after}
	}

	switch {
	case s.State == v1alpha1.StateAbsent:
		if mounted {
			mount(change("yes", "no"), "umount", "--", s.Path)
		}
		if inFstab {
			changes = append(changes, reconcilers.Change{Field: Fstab, Before: cur.String(), After: ""})
			scripts = append(scripts, editScript(s.Path))
			stdin = []byte{}
		}
	default:
		fstabChanged := !inFstab || cur != want
		if fstabChanged {
			before := ""
			if inFstab {
				before = cur.String()
			}
			changes = append(changes, reconcilers.Change{Field: Fstab, Before: before, After: want.String()})
			scripts = append(scripts, editScript(s.Path))
			stdin = []byte(want.String() + "\n")
		}
		switch {
		case s.State == v1alpha1.StateMounted && !mounted:
			if capable {
				scripts = append(scripts, q("mkdir", "-p", "--", s.Path))
			}
			mount(change("no", "yes"), "mount", "--", s.Path)
		case s.State == v1alpha1.StateMounted && fstabChanged && (live.source != s.Source || live.fstype != s.FSType):
			mount(change(live.source+" ("+live.fstype+")", s.Source+" ("+s.FSType+")"), "umount", "--", s.Path)
			mount(nil, "mount", "--", s.Path)
		case s.State == v1alpha1.StateMounted && fstabChanged:
			mount(change(live.options, s.Options), "mount", "-o", "remount", "--", s.Path)
		case s.State == v1alpha1.StateUnmounted && mounted:
			mount(change("yes", "no"), "umount", "--", s.Path)
		}
	}
	if len(scripts) == 0 {
		return notes, nil
	}
	desc := map[string]string{
		v1alpha1.StateAbsent: "remove mount " + s.Path, v1alpha1.StateMounted: "mount " + s.Path,
		v1alpha1.StateUnmounted: "unmount " + s.Path, v1alpha1.StatePresent: "add " + s.Path + " to " + Fstab,
	}[s.State]
	op := reconcilers.OpUpdate
	switch {
	case s.State == v1alpha1.StateAbsent:
		op = reconcilers.OpDelete
	case !inFstab:
		op = reconcilers.OpCreate
	}
	var b strings.Builder
	for i, sc := range scripts {
		if i > 0 {
			b.WriteString(" || exit\n")
		}
		b.WriteString(strings.TrimSuffix(sc, "\n"))
	}
	b.WriteString("\n")
	return append([]reconcilers.Action{{Op: op, Description: desc, Changes: changes, Script: b.String(), Stdin: stdin}}, notes...), nil
}
