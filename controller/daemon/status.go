package daemon

import (
	"fmt"
	"sort"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// restore takes the saved status so that conditions keep their transition
// times and a quarantined host keeps its failure count across a restart.
func (d *Daemon) restore(st *v1alpha1.ControllerStatus) {
	d.conditions = st.Conditions
	for i := range st.Hosts {
		h := st.Hosts[i]
		d.hosts[h.Name] = &h
	}
	for _, r := range st.Resources {
		ref := v1alpha1.ResourceRef{Kind: r.Kind, Name: r.Name}
		for _, hs := range r.Hosts {
			if d.resOnHost[hs.Host] == nil {
				d.resOnHost[hs.Host] = map[v1alpha1.ResourceRef]v1alpha1.ResourceHostState{}
			}
			d.resOnHost[hs.Host][ref] = hs
		}
	}
}

func isTrue(conds []v1alpha1.Condition, t string) bool {
	c := v1alpha1.FindCondition(conds, t)
	return c != nil && c.Status == v1alpha1.ConditionTrue
}

// updateReadyLocked sets the controller's Ready condition once every host
// has been reconciled at least once, and the host-state gauges.
func (d *Daemon) updateReadyLocked(now time.Time) {
	all := d.set != nil
	counts := map[string]float64{"ready": 0, "quarantined": 0, "pending": 0}
	for name, hs := range d.hosts {
		if !d.passed[name] {
			all = false
		}
		switch {
		case isTrue(hs.Conditions, v1alpha1.ConditionReady):
			counts["ready"]++
		case isTrue(hs.Conditions, v1alpha1.ConditionQuarantined):
			counts["quarantined"]++
		default:
			counts["pending"]++
		}
	}
	for state, n := range counts {
		d.m.hosts.WithLabelValues(state).Set(n)
	}
	if all && !d.ready {
		d.ready = true
		d.log.Info("first full pass done", "hosts", len(d.hosts))
	}
	status, reason := v1alpha1.ConditionFalse, "FirstPass"
	if d.ready {
		status, reason = v1alpha1.ConditionTrue, "PassCompleted"
	}
	d.conditions = v1alpha1.SetCondition(d.conditions, v1alpha1.Condition{Type: v1alpha1.ConditionReady, Status: status, Reason: reason}, now)
	d.updatedAt = now
}

// Status returns a snapshot of the whole status.
func (d *Daemon) Status() *v1alpha1.ControllerStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.statusLocked()
}

func (d *Daemon) statusLocked() *v1alpha1.ControllerStatus {
	st := &v1alpha1.ControllerStatus{Conditions: append([]v1alpha1.Condition(nil), d.conditions...), UpdatedAt: d.updatedAt}
	for _, hs := range d.hosts {
		c := *hs
		c.Conditions = append([]v1alpha1.Condition(nil), hs.Conditions...)
		st.Hosts = append(st.Hosts, c)
	}
	sort.Slice(st.Hosts, func(i, j int) bool { return st.Hosts[i].Name < st.Hosts[j].Name })
	if d.set != nil {
		for _, r := range d.set.Resources {
			if r.Kind == v1alpha1.HostKind.Kind {
				continue
			}
			rs := v1alpha1.ResourceStatus{Kind: r.Kind, Name: r.Metadata.Name, ObservedGeneration: specGeneration(r)}
			ready, reason, msg := true, "Converged", ""
			for _, h := range d.set.Hosts() {
				if t := r.Targeting(); t != nil && !t.HostSelector.Matches(h.Metadata.Labels) {
					continue
				}
				state, ok := d.resOnHost[h.Metadata.Name][r.Ref()]
				if !ok {
					state = v1alpha1.ResourceHostState{Host: h.Metadata.Name, State: "pending"}
				}
				rs.Hosts = append(rs.Hosts, state)
				if state.State != "converged" {
					ready = false
					if reason == "Converged" || state.State == "failed" {
						reason, msg = "NotConverged", fmt.Sprintf("%s on %s", state.State, h.Metadata.Name)
						if state.State == "failed" {
							reason = "Failed"
							msg += ": " + state.Message
						}
					}
				}
			}
			status := v1alpha1.ConditionTrue
			if !ready {
				status = v1alpha1.ConditionFalse
			}
			rs.Conditions = []v1alpha1.Condition{{Type: v1alpha1.ConditionReady, Status: status, Reason: reason, Message: msg,
				LastTransitionTime: d.updatedAt, ObservedGeneration: rs.ObservedGeneration}}
			st.Resources = append(st.Resources, rs)
		}
	}
	return st
}

func (d *Daemon) save() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.saveLocked()
}

func (d *Daemon) saveLocked() {
	if d.opts.StateDir == "" {
		return
	}
	if err := saveStatus(d.opts.StateDir, d.statusLocked()); err != nil {
		d.log.Error("cannot save status", "dir", d.opts.StateDir, "err", err)
	}
}
