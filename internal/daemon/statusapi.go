package daemon

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/manifest"
	"github.com/optimus-cm/optimus/internal/status"
)

// HostList is one page of /api/v1/status?limit=...: the hosts in name
// order and, as a Kubernetes list has, the token of the next page.
type HostList struct {
	Metadata ListMeta   `json:"metadata"`
	Items    []HostItem `json:"items"`
}

// ListMeta says where a page stands in its list.
type ListMeta struct {
	// ResourceVersion is the status version the page was cut at.
	ResourceVersion string `json:"resourceVersion"`
	// Continue is passed as continue= for the next page; empty on the last.
	Continue string `json:"continue,omitempty"`
	// RemainingItemCount counts the hosts after this page, and Total the
	// hosts of the list; each is given when the controller knows it
	// without walking the fleet (no filter; Total also for a state filter).
	RemainingItemCount *int `json:"remainingItemCount,omitempty"`
	Total              *int `json:"total,omitempty"`
}

// HostItem is a host's status with its labels and, unless the list asked
// resources=false, the state of every resource on it.
type HostItem struct {
	v1alpha1.HostStatus
	Labels         map[string]string      `json:"labels,omitempty"`
	ResourceStates []status.ResourceState `json:"resourceStates,omitempty"`
}

// Summary is /api/v1/summary: the fleet in counts, read from counters the
// tracker keeps, never by walking hosts.
type Summary struct {
	ResourceVersion string               `json:"resourceVersion"`
	UpdatedAt       time.Time            `json:"updatedAt"`
	Conditions      []v1alpha1.Condition `json:"conditions"`
	Counts          status.Counts        `json:"counts"`
	// Rollout is the rollout in progress, as the controller's Rollout
	// condition says it; nil when there is none.
	Rollout *RolloutSummary `json:"rollout,omitempty"`
	// Replicas sharing the fleet through etcd. Their lease TTLs cost a
	// request to etcd each, so they are given only with leases=true.
	Replicas []v1alpha1.ReplicaStatus `json:"replicas,omitempty"`
	Version  *v1alpha1.BuildInfo      `json:"version,omitempty"`
}

// RolloutSummary is the phase of a rollout and what it says of itself.
type RolloutSummary struct {
	Phase   string `json:"phase"`
	Message string `json:"message,omitempty"`
}

// serveHostList answers a status request that has list parameters.
func (d *Daemon) serveHostList(w http.ResponseWriter, req *http.Request) {
	q, err := status.ParseQuery(req.URL.Query())
	if err != nil {
		http.Error(w, "400 bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	labels := d.labels.of(d.currentSet())
	var p status.Page
	if d.fleet != nil {
		p = d.fleet.pages().Page(q, labels)
	} else {
		p = d.status.Page(q, labels)
	}
	writeJSON(w, hostList(p, q, labels))
}

func hostList(p status.Page, q status.Query, labels status.LabelFunc) *HostList {
	l := &HostList{Metadata: ListMeta{ResourceVersion: strconv.FormatUint(p.Version, 10), Continue: p.Continue},
		Items: make([]HostItem, len(p.Hosts))}
	if p.Remaining >= 0 {
		l.Metadata.RemainingItemCount = &p.Remaining
	}
	if p.Total >= 0 {
		l.Metadata.Total = &p.Total
	}
	for i, h := range p.Hosts {
		l.Items[i] = HostItem{HostStatus: h.Status, Labels: labels(h.Status.Name)}
		if q.Resources {
			l.Items[i].ResourceStates = h.Resources
		}
	}
	return l
}

// summary is the fleet in counts; in replica mode from the merged view
// and the watch-fed cache of etcd.
func (d *Daemon) summary(ctx context.Context, leases bool) *Summary {
	ts := d.status.Summary()
	s := &Summary{ResourceVersion: strconv.FormatUint(ts.Version, 10), UpdatedAt: ts.UpdatedAt,
		Conditions: ts.Conditions, Counts: ts.Counts, Version: d.opts.Version}
	if c := v1alpha1.FindCondition(ts.Conditions, v1alpha1.ConditionRollout); c != nil {
		s.Rollout = &RolloutSummary{Phase: strings.TrimPrefix(c.Reason, "Rollout"), Message: c.Message}
	}
	if d.fleet != nil {
		s.Counts = d.fleet.counts()
		s.Replicas = d.fleet.replicas()
		if leases {
			ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			ttl := d.fleet.cache.LeaseTTLs(ctx)
			for i := range s.Replicas {
				s.Replicas[i].LeaseTTL = ttl[s.Replicas[i].ID]
			}
		}
	}
	return s
}

// summaryParams reads the one parameter of /api/v1/summary.
func summaryParams(v url.Values) (leases bool, err error) {
	for name := range v {
		if name != "leases" {
			return false, fmt.Errorf("unknown parameter %q: the summary takes leases=true|false", name)
		}
	}
	if v.Has("leases") {
		if leases, err = strconv.ParseBool(v.Get("leases")); err != nil {
			return false, fmt.Errorf("leases=%q: true or false", v.Get("leases"))
		}
	}
	return leases, nil
}

func (d *Daemon) currentSet() *manifest.Set {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.set
}

// labelIndex maps host names to labels for the set it was built from;
// built once per manifest load, on the first list that asks.
type labelIndex struct {
	mu     sync.Mutex
	set    *manifest.Set
	byHost map[string]map[string]string
}

// of returns a lookup of set's host labels. The map it reads is never
// modified, so the lookup may run under another lock.
func (li *labelIndex) of(set *manifest.Set) status.LabelFunc {
	li.mu.Lock()
	defer li.mu.Unlock()
	if set != li.set || li.byHost == nil {
		li.byHost = map[string]map[string]string{}
		if set != nil {
			for _, h := range set.Hosts() {
				if len(h.Metadata.Labels) > 0 {
					li.byHost[h.Metadata.Name] = h.Metadata.Labels
				}
			}
		}
		li.set = set
	}
	m := li.byHost
	return func(host string) map[string]string { return m[host] }
}
