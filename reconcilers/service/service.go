package service

import (
	"context"
	"fmt"
	"slices"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
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
	if s.Enabled != nil {
		a, err := planEnabled(s, initSystem, cur)
		if err != nil {
			return nil, err
		}
		actions = append(actions, a...)
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

// planEnabled enables or disables the service at boot. Under systemd, a
// masked unit is refused rather than unmasked (masking is an operator's
// deliberate stop), and a unit without install information of its own
// (static, ...) gets a note: no command can enable or disable it.
func planEnabled(s *v1alpha1.ServiceSpec, initSystem string, cur Status) ([]reconcilers.Action, error) {
	want := *s.Enabled
	if want == cur.Enabled {
		return nil, nil
	}
	if initSystem == Systemd {
		switch u := cur.UnitFileState; {
		case fixedUnitFile(u) && want:
			return []reconcilers.Action{reconcilers.Note(fmt.Sprintf(
				"service %s is %s: its unit has no install information of its own, so systemctl enable cannot start it at boot; "+
					"another unit that wants it does, or set enabled only on units that can be enabled", s.Name, u))}, nil
		case fixedUnitFile(u):
			return nil, nil // nothing of its own starts it at boot
		case (u == "masked" || u == "masked-runtime") && want:
			return nil, fmt.Errorf("service %s is masked: systemd will not start it at all; unmask it on the host (systemctl unmask %s) if it should run, or remove enabled: true", s.Name, s.Name)
		case u == "masked" || u == "masked-runtime":
			return nil, nil
		}
	}
	verb := "disable"
	if want {
		verb = "enable"
	}
	return []reconcilers.Action{{
		Op:          reconcilers.OpUpdate,
		Description: verb + " service " + s.Name + " at boot",
		Changes:     []reconcilers.Change{{Field: "enabled", Before: fmt.Sprint(cur.Enabled), After: fmt.Sprint(want)}},
		Script:      Command(initSystem, verb, s.Name),
	}}, nil
}

// Command is the shell command that starts, stops, restarts, reloads,
// enables or disables a service with the host's init system. Under
// sysvinit, reload falls back to restart for an init script without a
// reload action; under systemd, reload is reload-or-restart, which does the
// same for units without a reload command. Both start a stopped service.
func Command(initSystem, verb, name string) string {
	if initSystem == Systemd {
		if verb == "reload" {
			verb = "reload-or-restart"
		}
		return transport.Isolate(reconcilers.ShellCommand("systemctl", verb, name))
	}
	switch verb {
	case "enable":
		// update-rc.d enable needs the links "defaults" makes, and makes
		// start links only in the runlevels of the script's Default-Start:
		// one that leaves out the boot runlevel would be enabled again
		// every run, so it fails saying why.
		return reconcilers.ShellCommand("sh", "-c", `s=$1
update-rc.d "$s" defaults >/dev/null && update-rc.d "$s" enable || exit
`+bootRunlevel+`
for k in /etc/rc$l.d/S[0-9][0-9]"$s" /etc/rcS.d/S[0-9][0-9]"$s"; do [ -e "$k" ] && exit 0; done
echo "update-rc.d enabled $s, but it has no start link in runlevel $l, the one this host boots into, nor in rcS.d: its init script's LSB header leaves $l out of Default-Start; add it there (or set enabled only where it applies)" >&2
exit 1`, "optimus-enable", name)
	case "disable":
		return reconcilers.ShellCommand("update-rc.d", name, "defaults") + " >/dev/null && " +
			reconcilers.ShellCommand("update-rc.d", name, verb)
	case "reload":
		return transport.Isolate(reconcilers.ShellCommand("sh", "-c", `s=$1
if ! service "$s" status >/dev/null 2>&1 </dev/null; then exec service "$s" start; fi
if grep -Eq '`+sysvReloads+`' "/etc/init.d/$s"; then exec service "$s" reload; fi
exec service "$s" restart`, "optimus-reload", name))
	}
	// Isolated: the daemon an init script starts inherits its descriptors
	// and may run for months, as root or as a service user.
	return transport.Isolate(reconcilers.ShellCommand("service", name, verb))
}

// startOr is the command that starts the service when it is not running at
// act time and restarts (verb "restart") or reloads it when it is: what a
// service whose configuration changed needs when it was stopped when
// observed, since a package installed in the same run may have started it
// on the old configuration since.
func startOr(initSystem, verb, name string) string {
	if verb == "reload" || initSystem == Systemd {
		// systemctl restart and reload-or-restart start a stopped unit;
		// the sysv reload command checks first.
		return Command(initSystem, verb, name)
	}
	return transport.Isolate(reconcilers.ShellCommand("sh", "-c", `s=$1
if service "$s" status >/dev/null 2>&1 </dev/null; then exec service "$s" restart; fi
exec service "$s" start`, "optimus-restart", name))
}
