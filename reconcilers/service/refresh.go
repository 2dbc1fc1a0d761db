package service

import (
	"context"
	"slices"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Triggers implements reconcilers.Refresher: restartOn and reloadOn.
func (Reconciler) Triggers(obj reconcilers.Object[v1alpha1.ServiceSpec]) []v1alpha1.ResourceRef {
	return append(slices.Clone(obj.Spec.RestartOn), obj.Spec.ReloadOn...)
}

// Refresh restarts the service, or reloads it when only reloadOn resources
// changed, unless it is to be stopped. A service about to be started gets
// one action in place of its start that decides at act time: a package
// installed in this run may have started it on the configuration it had
// then, and a start would leave it there.
func (Reconciler) Refresh(_ context.Context, req reconcilers.TypedRequest[v1alpha1.ServiceSpec], planned []reconcilers.Action) ([]reconcilers.Action, error) {
	s := req.Spec
	if s.State == v1alpha1.StateStopped {
		return nil, nil
	}
	initSystem, cur, err := observe(req.Facts, s.Name)
	if err != nil {
		return nil, err
	}
	verb, why := refreshVerb(s, req.Changed)
	said := verb // what the plan says it does where the service runs
	if verb == "reload" && !cur.CanReload && cur.Exists {
		said, why = "restart", why+"; it cannot reload"
	}
	starting := slices.ContainsFunc(planned, func(a reconcilers.Action) bool { return a.Op == reconcilers.OpCreate })
	if starting {
		desc := "start service " + s.Name + " (" + said + " if already running"
		if why != "" {
			desc += ": " + why
		}
		return []reconcilers.Action{{
			Op:          reconcilers.OpCreate,
			Description: desc + ")",
			Changes:     []reconcilers.Change{{Field: "state", Before: v1alpha1.StateStopped, After: v1alpha1.StateRunning}},
			Script:      startOr(initSystem, verb, s.Name),
			Replaces:    reconcilers.OpCreate,
		}}, nil
	}
	desc := said + " service " + s.Name
	if why != "" {
		desc += " (" + why + ")"
	}
	return []reconcilers.Action{{Op: reconcilers.OpRestart, Description: desc, Script: Command(initSystem, verb, s.Name)}}, nil
}

// refreshVerb is restart when a restartOn resource changed, or when none of
// the triggers changed in this cycle (a refresh owed by an earlier run,
// which may have been a restart); reload when only reloadOn resources did.
// why names them for the plan.
func refreshVerb(s *v1alpha1.ServiceSpec, changed []v1alpha1.ResourceRef) (verb, why string) {
	var restart, reload []string
	for _, c := range changed {
		switch {
		case slices.Contains(s.RestartOn, c):
			restart = append(restart, c.String())
		case slices.Contains(s.ReloadOn, c):
			reload = append(reload, c.String())
		}
	}
	switch {
	case len(restart) > 0:
		return "restart", strings.Join(restart, ", ") + " changed"
	case len(reload) > 0:
		return "reload", strings.Join(reload, ", ") + " changed"
	}
	return "restart", ""
}
