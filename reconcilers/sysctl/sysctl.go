package sysctl

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Dir holds the files Optimus writes, one per parameter; 90- sorts them
// after the distribution's own.
const Dir = "/etc/sysctl.d"

// Reconciler reconciles Sysctl resources.
type Reconciler struct{}

var _ reconcilers.TypedReconciler[v1alpha1.SysctlSpec] = Reconciler{}

// Kind implements reconcilers.Reconciler.
func (Reconciler) Kind() string { return v1alpha1.SysctlKind.Kind }

// File is where the parameter name is persisted.
func File(name string) string {
	return Dir + "/90-optimus-" + strings.ReplaceAll(name, "/", ".") + ".conf"
}

// procPath is the parameter's file under /proc/sys.
func procPath(name string) string {
	if strings.Contains(name, "/") {
		return "/proc/sys/" + name
	}
	return "/proc/sys/" + strings.ReplaceAll(name, ".", "/")
}

// Queries reads, for every parameter of the host in one command, the
// persisted file (base64, "-" when missing), the live value ("?" when the
// kernel has no such parameter) and whether it is writable ("w" or "r").
func (Reconciler) Queries(_ *v1alpha1.Host, objs []reconcilers.Object[v1alpha1.SysctlSpec]) []reconcilers.Query {
	names := map[string]bool{}
	for _, o := range objs {
		names[o.Spec.Name] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	var b strings.Builder
	for _, n := range sorted {
		fmt.Fprintf(&b, "f=%s; p=%s; printf '%%s\\t' %s\n", reconcilers.ShellCommand(File(n)), reconcilers.ShellCommand(procPath(n)), reconcilers.ShellCommand(n))
		// Both reads are bounded: one byte past the limit tells plan the
		// file is too large to read.
		b.WriteString(`if [ -f "$f" ]; then head -c ` + readMax + ` -- "$f" | base64 -w0; else printf -; fi; printf '\t'; ` +
			`if [ -r "$p" ]; then head -c ` + readMax + ` -- "$p" | tr '\t\n' '  '; else printf '?'; fi; printf '\t'; ` +
			`if [ -w "$p" ]; then echo w; else echo r; fi` + "\n")
	}
	b.WriteString("exit 0\n")
	return []reconcilers.Query{{Key: "sysctl", Script: b.String()}}
}

var readMax = strconv.Itoa(reconcilers.ReadLimit + 1)

// param is what the query found for one parameter.
type param struct {
	file     []byte
	hasFile  bool
	live     string
	known    bool
	writable bool
}

func parse(out string) (map[string]param, error) {
	params := map[string]param{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			continue
		}
		p := param{known: f[2] != "?", writable: f[3] == "w", live: strings.Join(strings.Fields(f[2]), " ")}
		if f[1] != "-" {
			b, err := base64.StdEncoding.DecodeString(f[1])
			if err != nil {
				return nil, fmt.Errorf("sysctl query: %s: %w", f[0], err)
			}
			p.file, p.hasFile = b, true
		}
		params[f[0]] = p
	}
	return params, nil
}

// Content is the persisted file for the resource.
func Content(res *v1alpha1.Resource, s *v1alpha1.SysctlSpec) string {
	return "# Managed by Optimus (" + res.ID() + ").\n" + s.Name + " = " + s.Value + "\n"
}

// Plan implements reconcilers.TypedReconciler.
func (Reconciler) Plan(_ context.Context, req reconcilers.TypedRequest[v1alpha1.SysctlSpec]) ([]reconcilers.Action, error) {
	s := req.Spec
	params, err := reconcilers.Parsed(req.Facts, "sysctl", parse)
	if err != nil {
		return nil, err
	}
	cur, ok := params[s.Name]
	if !ok {
		return nil, fmt.Errorf("sysctl query: no answer for %s", s.Name)
	}
	file := File(s.Name)
	if len(cur.file) > reconcilers.ReadLimit || len(cur.live) > reconcilers.ReadLimit {
		return nil, &reconcilers.TooLargeError{What: file + " or " + procPath(s.Name), Limit: reconcilers.ReadLimit,
			Hint: "it is left as it is: look at it on the host"}
	}
	if s.State == v1alpha1.StateAbsent {
		if !cur.hasFile {
			return nil, nil
		}
		return []reconcilers.Action{{
			Op:          reconcilers.OpDelete,
			Description: "delete " + file + " (the running kernel keeps " + s.Name + " = " + cur.live + " until reboot)",
			Changes:     []reconcilers.Change{{Field: "state", Before: "present", After: "absent"}},
			Script:      reconcilers.ShellCommand("rm", "-f", "--", file),
		}}, nil
	}
	if !cur.known {
		return nil, fmt.Errorf("the kernel has no parameter %s (%s does not exist): check the name", s.Name, procPath(s.Name))
	}
	want := Content(req.Resource, s)
	var changes []reconcilers.Change
	var scripts []string
	if !cur.hasFile || string(cur.file) != want {
		before := ""
		if cur.hasFile {
			before = persisted(string(cur.file), s.Name)
		}
		changes = append(changes, reconcilers.Change{Field: "persisted", Before: before, After: s.Value})
		scripts = append(scripts, strings.TrimSuffix(reconcilers.AtomicWriteScript(file, "0644", "root:root"), "\n")+" || exit 1\n")
	}
	var notes []reconcilers.Action
	if cur.live != s.Value {
		if cur.writable {
			changes = append(changes, reconcilers.Change{Field: "live", Before: cur.live, After: s.Value})
			scripts = append(scripts, reconcilers.ShellCommand("sysctl", "-q", "-w", s.Name+"="+s.Value))
		} else {
			// A container's read-only /proc/sys: the live value cannot
			// converge, so it is noted in every plan, not asked for again.
			notes = append(notes, reconcilers.Note("live value "+cur.live+", not "+s.Value+": /proc/sys is read-only here, so only the persisted value converges"))
		}
	}
	if len(changes) == 0 {
		return notes, nil
	}
	op := reconcilers.OpUpdate
	if !cur.hasFile {
		op = reconcilers.OpCreate
	}
	a := reconcilers.Action{
		Op:          op,
		Description: "set " + s.Name + " = " + s.Value,
		Changes:     changes,
		Script:      strings.Join(scripts, ""),
	}
	if !cur.hasFile || string(cur.file) != want {
		a.Stdin = []byte(want)
	}
	return append([]reconcilers.Action{a}, notes...), nil
}

// persisted finds the value of name in a sysctl.d file, for the plan.
func persisted(content, name string) string {
	for _, line := range strings.Split(content, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(k) == name {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return "(other content)"
}
