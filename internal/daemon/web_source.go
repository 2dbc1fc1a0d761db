package daemon

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/status"
	"github.com/optimus-cm/optimus/internal/web"
)

// The status page reads what the status API serves, a page or a host at
// a time: the summary's counters, the tracker's (or in replica mode the
// merged view's) pages, one host's record.

// Summary implements web.Source from the counters; it walks no host.
func (w *webSource) Summary() *web.Summary {
	ts := w.d.status.Summary()
	c := ts.Counts
	if w.d.fleet != nil {
		c = w.d.fleet.counts()
		if at := w.d.fleet.view.UpdatedAt(); at.After(ts.UpdatedAt) {
			ts.UpdatedAt = at // another replica's host changed last
		}
	}
	return &web.Summary{UpdatedAt: ts.UpdatedAt, Conditions: webConditions(ts.Conditions), Config: configOf(ts.Conditions),
		Rollout: webRollout(w.d.RolloutStatus()), Hosts: c.Hosts,
		Counts: map[web.State]int{web.StateReady: c.Ready, web.StateQuarantined: c.Quarantined, web.StatePending: c.Pending}}
}

// Hosts implements web.Source with the list of /api/v1/status, so the
// page's filters mean what the API's do.
func (w *webSource) Hosts(hq web.HostQuery) (*web.HostPage, error) {
	v := url.Values{"limit": {strconv.Itoa(hq.Limit)}, "resources": {"false"}}
	if hq.Class != "" {
		v.Set("state", strings.ToLower(string(hq.Class)))
	}
	if hq.Selector != "" {
		v.Set("label", hq.Selector)
	}
	if hq.Contains != "" {
		v.Set("name", hq.Contains)
	}
	if hq.Continue != "" {
		v.Set("continue", hq.Continue)
	}
	q, err := status.ParseQuery(v)
	if err != nil {
		return nil, err
	}
	labels := w.d.labels.of(w.d.currentSet())
	var p status.Page
	if w.d.fleet != nil {
		p = w.d.fleet.pages().Page(q, labels)
	} else {
		p = w.d.status.Page(q, labels)
	}
	hp := &web.HostPage{Continue: p.Continue, Total: p.Total, Hosts: make([]web.Host, len(p.Hosts))}
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, h := range p.Hosts {
		hp.Hosts[i] = w.hostLocked(h, labels(h.Status.Name), false)
	}
	return hp, nil
}

// record returns the record the page shows for a host: the merged view's
// in replica mode (another replica's host as its owner wrote it).
func (w *webSource) record(name string) (*status.Host, bool) {
	if w.d.fleet != nil && w.d.fleet.ready.Load() {
		return w.d.fleet.view.Host(name)
	}
	return w.d.status.Host(name)
}

// Host implements web.Source.
func (w *webSource) Host(name string) *web.Host {
	h, ok := w.record(name)
	if !ok {
		return nil
	}
	labels := w.d.labels.of(w.d.currentSet())
	w.mu.Lock()
	defer w.mu.Unlock()
	wh := w.hostLocked(h, labels(name), true)
	return &wh
}

// hostLocked is h as the page shows it; with full, its resources and last
// actions too. w.mu is held.
func (w *webSource) hostLocked(h *status.Host, labels map[string]string, full bool) web.Host {
	hs := &h.Status
	wh := web.Host{Name: hs.Name, Address: hs.Address, Labels: labels, Conditions: webConditions(hs.Conditions), Failures: hs.Failures}
	wh.State, wh.Reason = hostState(hs)
	if hs.LastRun != nil {
		wh.LastRun = &web.Run{Start: hs.LastRun.Start, Duration: hs.LastRun.Duration, Cycles: hs.LastRun.Cycles,
			Changed: hs.LastRun.Changed, Failed: hs.LastRun.Failed, Result: hs.LastRun.Result, Reason: hs.LastError}
	}
	if hs.NextRetry != nil {
		wh.NextRetry = *hs.NextRetry
		if hs.LastRun != nil {
			wh.Backoff = hs.NextRetry.Sub(hs.LastRun.Start.Add(hs.LastRun.Duration)).Round(100 * time.Millisecond)
		}
	}
	if !full {
		return wh
	}
	hr := w.runs[hs.Name]
	if hr != nil {
		wh.LastActions = hr.actions
	}
	for _, rs := range h.Resources {
		r := web.HostResource{Kind: rs.Ref.Kind, Name: rs.Ref.Name, State: string(rs.State), Message: rs.Message}
		if hr != nil {
			r.LastChange = hr.changed[rs.Ref]
		}
		wh.Resources = append(wh.Resources, r)
	}
	return wh
}

// Resource implements web.Source: one resource over the hosts it
// targets, which is one pass over the hosts' resource lists.
func (w *webSource) Resource(kind, name string) *web.Resource {
	ref := v1alpha1.ResourceRef{Kind: kind, Name: name}
	snap := w.d.status.Snapshot()
	found := false
	for _, r := range snap.Resources {
		found = found || r.Ref == ref
	}
	if !found {
		return nil
	}
	res := w.resources(snap, map[v1alpha1.ResourceRef]bool{ref: true}, true)
	return &res[0]
}

// resources builds the page's view of the resources in want, in the
// order of the manifests, with their hosts when withHosts.
func (w *webSource) resources(snap *status.Snapshot, want map[v1alpha1.ResourceRef]bool, withHosts bool) []web.Resource {
	resLabels := map[v1alpha1.ResourceRef]map[string]string{}
	if set := w.d.currentSet(); set != nil {
		for _, r := range set.Resources {
			if want[r.Ref()] {
				resLabels[r.Ref()] = r.Metadata.Labels
			}
		}
	}
	type why struct{ state, host, msg string }
	first := map[v1alpha1.ResourceRef]why{}
	onHosts := map[v1alpha1.ResourceRef][]web.ResourceOnHost{}
	w.mu.Lock()
	for _, h := range snap.Hosts {
		for _, rs := range h.Resources {
			if !want[rs.Ref] {
				continue
			}
			if withHosts {
				var changed time.Time
				if hr := w.runs[h.Status.Name]; hr != nil {
					changed = hr.changed[rs.Ref]
				}
				onHosts[rs.Ref] = append(onHosts[rs.Ref], web.ResourceOnHost{Host: h.Status.Name, State: string(rs.State), Message: rs.Message, LastChange: changed})
			}
			if f := first[rs.Ref]; rs.State != status.StateConverged && (f.state == "" || (rs.State == status.StateFailed && f.state != string(status.StateFailed))) {
				first[rs.Ref] = why{string(rs.State), h.Status.Name, rs.Message}
			}
		}
	}
	w.mu.Unlock()
	var out []web.Resource
	for _, r := range snap.Resources {
		if !want[r.Ref] {
			continue
		}
		wr := web.Resource{Kind: r.Ref.Kind, Name: r.Ref.Name, Labels: resLabels[r.Ref], Ready: true, Reason: "Converged", Hosts: onHosts[r.Ref]}
		if f, ok := first[r.Ref]; ok {
			wr.Ready, wr.Reason, wr.Message = false, "NotConverged", fmt.Sprintf("%s on %s", f.state, f.host)
			if f.state == string(status.StateFailed) {
				wr.Reason, wr.Message = "Failed", wr.Message+": "+f.msg
			}
		}
		out = append(out, wr)
	}
	return out
}

// Search implements web.Source: the first limit hosts by name, and limit
// resources, whose name or a label key=value contains query.
func (w *webSource) Search(query string, limit int) ([]web.Host, []web.Resource) {
	lq := strings.ToLower(query)
	snap := w.d.status.Snapshot()
	labels := w.d.labels.of(w.d.currentSet())
	var matched []*status.Host
	for _, h := range snap.Hosts {
		if len(matched) == limit {
			break
		}
		if strings.Contains(strings.ToLower(h.Status.Name), lq) || labelsMatch(labels(h.Status.Name), lq) {
			if rec, ok := w.record(h.Status.Name); ok {
				matched = append(matched, rec)
			}
		}
	}
	hosts := make([]web.Host, len(matched))
	w.mu.Lock()
	for i, h := range matched {
		hosts[i] = w.hostLocked(h, labels(h.Status.Name), false)
	}
	w.mu.Unlock()

	want := map[v1alpha1.ResourceRef]bool{}
	if set := w.d.currentSet(); set != nil {
		for _, r := range set.Resources {
			if len(want) < limit && (strings.Contains(strings.ToLower(r.Ref().String()), lq) || labelsMatch(r.Metadata.Labels, lq)) {
				want[r.Ref()] = true
			}
		}
	}
	res := w.resources(snap, want, false)
	sort.Slice(res, func(i, j int) bool { return res[i].ID() < res[j].ID() })
	return hosts, res
}

func labelsMatch(labels map[string]string, query string) bool {
	for k, v := range labels {
		if strings.Contains(strings.ToLower(k+"="+v), query) {
			return true
		}
	}
	return false
}
