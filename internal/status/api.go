package status

import (
	"fmt"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// ControllerStatus renders the snapshot in the form of the status API and
// the state file, deriving each resource's status from the host records.
// It costs one pass over every host's resources; callers that serve it
// often cache it per Version.
func (s *Snapshot) ControllerStatus() *v1alpha1.ControllerStatus {
	st := &v1alpha1.ControllerStatus{Conditions: s.Conditions, UpdatedAt: s.UpdatedAt,
		Hosts: make([]v1alpha1.HostStatus, len(s.Hosts)), Resources: make([]v1alpha1.ResourceStatus, len(s.Resources))}
	index := make(map[v1alpha1.ResourceRef]int, len(s.Resources))
	for i, r := range s.Resources {
		index[r.Ref] = i
		st.Resources[i] = v1alpha1.ResourceStatus{Kind: r.Ref.Kind, Name: r.Ref.Name, ObservedGeneration: r.Generation}
	}
	// first remembers, per resource, the state that names why it is not
	// Ready: the first failure, or else the first host not converged.
	type why struct {
		state     v1alpha1.ResourceState
		host, msg string
	}
	first := make([]why, len(s.Resources))
	// Every resource's host list is carved out of one array sized by a
	// first count: at a thousand hosts, lists grown by append were most of
	// what each state-file write allocated.
	counts := make([]int, len(s.Resources))
	total := 0
	for _, h := range s.Hosts {
		for _, rs := range h.Resources {
			if j, ok := index[rs.Ref]; ok {
				counts[j]++
				total++
			}
		}
	}
	all := make([]v1alpha1.ResourceHostState, total)
	for j, n := range counts {
		if n > 0 {
			st.Resources[j].Hosts, all = all[:0:n], all[n:]
		}
	}
	for i, h := range s.Hosts {
		st.Hosts[i] = h.Status
		for _, rs := range h.Resources {
			j, ok := index[rs.Ref]
			if !ok {
				continue
			}
			st.Resources[j].Hosts = append(st.Resources[j].Hosts, v1alpha1.ResourceHostState{Host: h.Status.Name, State: rs.State, Message: rs.Message})
			if rs.State != StateConverged && (first[j].state == "" || (rs.State == StateFailed && first[j].state != StateFailed)) {
				first[j] = why{rs.State, h.Status.Name, rs.Message}
			}
		}
	}
	for j := range st.Resources {
		c := v1alpha1.Condition{Type: v1alpha1.ConditionReady, Status: v1alpha1.ConditionTrue, Reason: "Converged",
			LastTransitionTime: s.UpdatedAt, ObservedGeneration: st.Resources[j].ObservedGeneration}
		if w := first[j]; w.state != "" {
			c.Status, c.Reason, c.Message = v1alpha1.ConditionFalse, "NotConverged", fmt.Sprintf("%s on %s", w.state, w.host)
			if w.state == StateFailed {
				c.Reason, c.Message = "Failed", c.Message+": "+w.msg
			}
		}
		st.Resources[j].Conditions = []v1alpha1.Condition{c}
	}
	return st
}
