package hostname

import (
	"context"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// File is the persisted host name.
const File = "/etc/hostname"

// Reconciler reconciles Hostname resources.
type Reconciler struct{}

var (
	_ reconcilers.TypedReconciler[v1alpha1.HostnameSpec] = Reconciler{}
	_ reconcilers.SharedQuerier                          = Reconciler{}
)

// Kind implements reconcilers.Reconciler.
func (Reconciler) Kind() string { return v1alpha1.HostnameKind.Kind }

// query prints the first line of /etc/hostname ("-" when it is missing),
// then the running name.
var query = reconcilers.Query{Key: "hostname", Script: `if [ -f /etc/hostname ]; then head -n 1 /etc/hostname | head -c 4096; echo; else echo -; fi; uname -n`}

// SharedQueries declares the capabilities query, which Mount shares.
func (Reconciler) SharedQueries() []reconcilers.Query {
	return []reconcilers.Query{reconcilers.QueryCapabilities}
}

// Queries implements reconcilers.TypedReconciler: one query per host,
// whatever the number of resources.
func (Reconciler) Queries(_ *v1alpha1.Host, _ []reconcilers.Object[v1alpha1.HostnameSpec]) []reconcilers.Query {
	return []reconcilers.Query{query, reconcilers.QueryCapabilities}
}

type observed struct {
	file, live string
	hasFile    bool
}

func parse(out string) (observed, error) {
	lines := strings.Split(out, "\n")
	var o observed
	if len(lines) > 0 && lines[0] != "-" {
		o.file, o.hasFile = strings.TrimSpace(lines[0]), true
	}
	// An existing file's line is followed by the empty line echo adds.
	rest := lines[1:]
	if o.hasFile && len(rest) > 0 && strings.TrimSpace(rest[0]) == "" {
		rest = rest[1:]
	}
	if len(rest) > 0 {
		o.live = strings.TrimSpace(rest[0])
	}
	return o, nil
}

// writeScript replaces /etc/hostname with name atomically; where the file
// is a mount point (a container's bind mount), rename fails with EBUSY and
// the file is written in place instead, which is all such a host allows.
func writeScript(name string) string {
	line := reconcilers.ShellCommand("printf", "%s\n", name)
	return "if ! " + line + " | (\n" + reconcilers.AtomicWriteScript(File, "0644", "root:root") + "); then\n" +
		"\tgrep -q ' /etc/hostname ' /proc/self/mounts || exit 1\n" +
		"\t" + line + " >/etc/hostname\n" +
		"fi\n"
}

// Plan implements reconcilers.TypedReconciler.
func (Reconciler) Plan(_ context.Context, req reconcilers.TypedRequest[v1alpha1.HostnameSpec]) ([]reconcilers.Action, error) {
	s := req.Spec
	o, err := reconcilers.Parsed(req.Facts, query.Key, parse)
	if err != nil {
		return nil, err
	}
	capable, err := reconcilers.HasCapSysAdmin(req.Facts)
	if err != nil {
		return nil, err
	}
	var changes []reconcilers.Change
	var scripts []string
	if o.file != s.Name {
		changes = append(changes, reconcilers.Change{Field: File, Before: o.file, After: s.Name})
		scripts = append(scripts, writeScript(s.Name))
	}
	var notes []reconcilers.Action
	if o.live != s.Name {
		if capable {
			changes = append(changes, reconcilers.Change{Field: "running name", Before: o.live, After: s.Name})
			scripts = append(scripts, reconcilers.ShellCommand("hostname", s.Name))
		} else {
			// Without CAP_SYS_ADMIN (an unprivileged container) the
			// running name cannot converge: it is noted in every plan,
			// not asked for again.
			notes = append(notes, reconcilers.Note("running name "+o.live+", not "+s.Name+": the host withholds CAP_SYS_ADMIN, so only "+File+" converges"))
		}
	}
	if len(changes) == 0 {
		return notes, nil
	}
	return append([]reconcilers.Action{{
		Op:          reconcilers.OpUpdate,
		Description: "set host name " + s.Name,
		Changes:     changes,
		Script:      strings.Join(scripts, ""),
	}}, notes...), nil
}
