package daemon

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/cluster"
	"github.com/optimus-cm/optimus/internal/etcdtest"
	"github.com/optimus-cm/optimus/internal/status"
)

func runReplica(t *testing.T, r *cluster.Replica) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReplicaServesOthersHostsFromItsCache: replica b pages and counts the
// fleet with a's host status as a wrote it to etcd, kept by b's watch, and
// its own hosts from its tracker; a's updates reach b's pages without a
// full read of etcd per page.
func TestReplicaServesOthersHostsFromItsCache(t *testing.T) {
	cli := etcdtest.Start(t).Client(t)
	hosts := []string{"h1", "h2", "h3", "h4"}
	replicas := map[string]*cluster.Replica{}
	for _, id := range []string{"a", "b"} {
		r, err := cluster.New(cluster.Config{Client: cli, Prefix: "/fv", ID: id, TTL: 2 * time.Second, StatusDebounce: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		r.SetHosts(hosts)
		r.SetDigest("d1")
		runReplica(t, r)
		replicas[id] = r
	}
	a, b := replicas["a"], replicas["b"]
	waitUntil(t, "a and b own two hosts each", func() bool { return len(a.Owned()) == 2 && len(b.Owned()) == 2 })

	tr := status.New()
	targets := make([]status.Target, len(hosts))
	for i, h := range hosts {
		targets[i] = status.Target{Name: h, Address: "10.0.0." + h[1:]}
	}
	tr.SetManifests(targets, nil, time.Now())
	f := newReplicaFleet(b, tr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	theirs, mine := a.Owned()[0], b.Owned()[0]
	ready := []v1alpha1.Condition{{Type: v1alpha1.ConditionReady, Status: v1alpha1.ConditionTrue}}
	// b's tracker still holds an old, quarantined record of a's host: the
	// owner's status in etcd is what b serves for it.
	now := time.Now()
	tr.UpdateHost(theirs, now, func(h *status.Host) {
		h.Status.Conditions = []v1alpha1.Condition{{Type: v1alpha1.ConditionQuarantined, Status: v1alpha1.ConditionTrue}}
	})
	tr.UpdateHost(mine, now, func(h *status.Host) { h.Status.Conditions, h.Status.LastError = ready, "mine" })
	all := func() map[string]v1alpha1.HostStatus {
		out := map[string]v1alpha1.HostStatus{}
		for _, h := range f.view.Page(status.Query{Limit: 10}, nil).Hosts {
			out[h.Status.Name] = h.Status
		}
		return out
	}
	changes, stop := f.subscribe() // the status page's live updates
	defer stop()
	for i := range 3 {
		msg := fmt.Sprintf("from a, update %d", i)
		if err := a.PublishStatus(theirs, v1alpha1.HostStatus{Name: theirs, Conditions: ready, LastError: msg, Replica: "a"}); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, msg+" in b's pages", func() bool {
			st := all()[theirs]
			return st.LastError == msg && st.Replica == "a" && st.Address == "10.0.0."+theirs[1:]
		})
	}
	select {
	case <-changes:
	default:
		t.Error("b's page subscribers were not told that a's host changed")
	}
	if st := all()[mine]; st.LastError != "mine" || st.Replica != "b" {
		t.Errorf("b's own host %s served as %+v, want its tracker's record owned by b", mine, st)
	}
	if c := f.view.Counts(); c.Hosts != 4 || c.Ready != 2 || c.Quarantined != 0 {
		t.Errorf("b's counts %+v, want 4 hosts, 2 ready (a's from etcd, b's own), none quarantined", c)
	}
	if p := f.view.Page(status.Query{Limit: 10, States: []string{status.ClassReady}}, nil); len(p.Hosts) != 2 {
		t.Errorf("state=ready in b's view: %d hosts, want 2", len(p.Hosts))
	}
	if n := f.cache.Reads(); n != 1 {
		t.Errorf("%d full reads of etcd, want the first one only", n)
	}
	if rs := f.replicas(); len(rs) != 2 || rs[0].ID != "a" || rs[0].Hosts != 2 || !rs[0].InSync {
		t.Errorf("replicas %+v, want a and b, two hosts each, in sync", rs)
	}
}
