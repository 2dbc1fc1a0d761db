package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// KeyPrefix starts the Key of the query; it ends with a hash of the script.
const KeyPrefix = "services."

// Init systems.
const (
	Systemd = "systemd"
	SysV    = "sysv"
)

// Reconciler reconciles Service resources.
type Reconciler struct{}

var (
	_ reconcilers.TypedReconciler[v1alpha1.ServiceSpec]       = Reconciler{}
	_ reconcilers.TypedDependencyLister[v1alpha1.ServiceSpec] = Reconciler{}
	_ reconcilers.TypedRefresher[v1alpha1.ServiceSpec]        = Reconciler{}
)

// Kind implements reconcilers.Reconciler.
func (Reconciler) Kind() string { return v1alpha1.ServiceKind.Kind }

// Queries detects the init system and reads the state of every service of the
// host in one command. Status commands only read.
func (Reconciler) Queries(_ *v1alpha1.Host, objs []reconcilers.Object[v1alpha1.ServiceSpec]) []reconcilers.Query {
	set := map[string]bool{}
	for _, o := range objs {
		set[o.Spec.Name] = true
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	script := QueryScript(names)
	sum := sha256.Sum256([]byte(script))
	return []reconcilers.Query{{Key: KeyPrefix + hex.EncodeToString(sum[:8]), Script: script}}
}

// QueryScript prints the init system on the first line, then per service
// "name<TAB>active<TAB>enabled<TAB>exists" with yes or no.
func QueryScript(names []string) string {
	var b strings.Builder
	b.WriteString(`if [ -d /run/systemd/system ]; then
	echo ` + Systemd + `
	for s in ` + reconcilers.ShellCommand(names...) + `; do
		a=no; e=no; x=yes
		systemctl is-active --quiet "$s" 2>/dev/null && a=yes
		systemctl is-enabled --quiet "$s" 2>/dev/null && e=yes
		[ "$(systemctl show -p LoadState --value "$s" 2>/dev/null)" = not-found ] && x=no
		printf '%s\t%s\t%s\t%s\n' "$s" $a $e $x
	done
else
	echo ` + SysV + `
	for s in ` + reconcilers.ShellCommand(names...) + `; do
		a=no; e=no; x=no
		if [ -x "/etc/init.d/$s" ]; then
			x=yes
			"/etc/init.d/$s" status >/dev/null 2>&1 </dev/null && a=yes
		fi
		for l in /etc/rc[2345].d/S[0-9][0-9]"$s"; do [ -e "$l" ] && e=yes; done
		printf '%s\t%s\t%s\t%s\n' "$s" $a $e $x
	done
fi
exit 0
`)
	return b.String()
}

// Status is one service as observed.
type Status struct {
	Active, Enabled, Exists bool
}

// ParseStatus parses the output of QueryScript.
func ParseStatus(out string) (initSystem string, services map[string]Status) {
	services = map[string]Status{}
	lines := strings.Split(out, "\n")
	initSystem = strings.TrimSpace(lines[0])
	for _, l := range lines[1:] {
		f := strings.Split(l, "\t")
		if len(f) == 4 {
			services[f[0]] = Status{Active: f[1] == "yes", Enabled: f[2] == "yes", Exists: f[3] == "yes"}
		}
	}
	return initSystem, services
}

// observedServices is a parsed query, shared by every Service of a host.
type observedServices struct {
	initSystem string
	services   map[string]Status
}

func observe(f *reconcilers.Facts, name string) (string, Status, error) {
	for _, k := range f.Keys(KeyPrefix) {
		parsed, err := reconcilers.Parsed(f, k, func(out string) (observedServices, error) {
			initSystem, services := ParseStatus(out)
			return observedServices{initSystem, services}, nil
		})
		if err != nil {
			return "", Status{}, err
		}
		if st, ok := parsed.services[name]; ok {
			return parsed.initSystem, st, nil
		}
	}
	return "", Status{}, fmt.Errorf("service %s was not observed: the reconciler did not declare it in its query", name)
}

// Dependencies orders a service after the Package resources that install a
// package of its name, and only those: a package that fails to install must
// not hold back a service that does not need it. A service installed by a
// package of another name says so with dependsOn.
func (Reconciler) Dependencies(obj reconcilers.Object[v1alpha1.ServiceSpec], all []*v1alpha1.Resource) []v1alpha1.ResourceRef {
	s := obj.Spec
	var named []v1alpha1.ResourceRef
	for _, o := range all {
		p, ok := reconcilers.SpecOf[v1alpha1.PackageSpec](o)
		if ok && p.State != v1alpha1.StateAbsent && slices.Contains(p.Names, s.Name) {
			named = append(named, o.Ref())
		}
	}
	return named
}

// Triggers implements reconcilers.Refresher.
func (Reconciler) Triggers(obj reconcilers.Object[v1alpha1.ServiceSpec]) []v1alpha1.ResourceRef {
	return obj.Spec.RestartOn
}

// Refresh restarts the service, unless it is to be stopped or the planned
// actions start it anyway.
func (Reconciler) Refresh(_ context.Context, req reconcilers.TypedRequest[v1alpha1.ServiceSpec], planned []reconcilers.Action) ([]reconcilers.Action, error) {
	s := req.Spec
	if s.State == v1alpha1.StateStopped {
		return nil, nil
	}
	for _, a := range planned {
		for _, c := range a.Changes {
			if c.Field == "state" && c.After == v1alpha1.StateRunning {
				return nil, nil // a service about to start needs no restart
			}
		}
	}
	initSystem, _, err := observe(req.Facts, s.Name)
	if err != nil {
		return nil, err
	}
	return []reconcilers.Action{{
		Op:          reconcilers.OpRestart,
		Description: "restart service " + s.Name + " (a resource it watches changed)",
		Script:      Command(initSystem, "restart", s.Name),
	}}, nil
}

// Plan implements reconcilers.Reconciler.
func (Reconciler) Plan(_ context.Context, req reconcilers.TypedRequest[v1alpha1.ServiceSpec]) ([]reconcilers.Action, error) {
	s := req.Spec
	initSystem, cur, err := observe(req.Facts, s.Name)
	if err != nil {
		return nil, err
	}
	// A missing service may come with a package installed in this cycle:
	// the action then fails with the init system's own message if it does not.
	var actions []reconcilers.Action
	if s.Enabled != nil && *s.Enabled != cur.Enabled {
		verb := "disable"
		if *s.Enabled {
			verb = "enable"
		}
		actions = append(actions, reconcilers.Action{
			Op:          reconcilers.OpUpdate,
			Description: verb + " service " + s.Name + " at boot",
			Changes:     []reconcilers.Change{{Field: "enabled", Before: fmt.Sprint(cur.Enabled), After: fmt.Sprint(*s.Enabled)}},
			Script:      Command(initSystem, verb, s.Name),
		})
	}
	switch {
	case s.State == v1alpha1.StateRunning && !cur.Active:
		actions = append(actions, reconcilers.Action{
			Op:          reconcilers.OpCreate,
			Description: "start service " + s.Name,
			Changes:     []reconcilers.Change{{Field: "state", Before: v1alpha1.StateStopped, After: v1alpha1.StateRunning}},
			Script:      Command(initSystem, "start", s.Name),
		})
	case s.State == v1alpha1.StateStopped && cur.Active:
		actions = append(actions, reconcilers.Action{
			Op:          reconcilers.OpDelete,
			Description: "stop service " + s.Name,
			Changes:     []reconcilers.Change{{Field: "state", Before: v1alpha1.StateRunning, After: v1alpha1.StateStopped}},
			Script:      Command(initSystem, "stop", s.Name),
		})
	}
	return actions, nil
}

// Command is the shell command that starts, stops, restarts, enables or
// disables a service with the host's init system.
func Command(initSystem, verb, name string) string {
	if initSystem == Systemd {
		return transport.Isolate(reconcilers.ShellCommand("systemctl", verb, name))
	}
	switch verb {
	case "enable", "disable":
		// update-rc.d enable/disable needs the links "defaults" makes.
		return reconcilers.ShellCommand("update-rc.d", name, "defaults") + " >/dev/null && " +
			reconcilers.ShellCommand("update-rc.d", name, verb)
	}
	// Isolated: the daemon an init script starts inherits its descriptors
	// and may run for months, as root or as a service user.
	return transport.Isolate(reconcilers.ShellCommand("service", name, verb))
}
