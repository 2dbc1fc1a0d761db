package manifest

import (
	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// checkHosts runs the checks that depend on each targeted Host (a
// template's variables, v1alpha1.HostChecker) with the Hosts a resource's
// selector matches. A selector on facts is decided only on the host: the
// problems it may bring are warnings, returned, since a host its labels
// match may not be targeted at all.
func (st *load) checkHosts(set *Set) []*Error {
	idx := st.hostIndex(set)
	var warnings []*Error
	for _, d := range st.docs {
		hc, ok := d.res.Spec.(v1alpha1.HostChecker)
		if !ok {
			continue
		}
		var sel *v1alpha1.LabelSelector
		if t := d.res.Targeting(); t != nil {
			sel = t.HostSelector
		}
		var targeted []*v1alpha1.Host
		for _, h := range idx.Candidates(sel) {
			if sel.Matches(h.Metadata.Labels) {
				targeted = append(targeted, h)
			}
		}
		for _, fe := range hc.CheckHosts(targeted) {
			path := joinPath("spec", fe.Path)
			if sel.HasFacts() {
				warnings = append(warnings, &Error{File: d.file, Line: lineOf(d.root, path), Resource: d.res.ID(), Field: path,
					Message: fe.Message + " (if its facts match spec.hostSelector.matchFacts)"})
				continue
			}
			st.addErr(d.file, lineOf(d.root, path), d.res.ID(), path, fe.Message)
		}
	}
	return warnings
}

// hostIndex indexes the set's hosts once per load, for the checks that ask
// which hosts each resource targets.
func (st *load) hostIndex(set *Set) *v1alpha1.HostIndex {
	if st.hosts == nil {
		st.hosts = v1alpha1.NewHostIndex(set.Hosts())
	}
	return st.hosts
}
