package status

import (
	"fmt"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// fleet makes a tracker of hosts × resources, every resource on every host.
func fleet(tb testing.TB, hosts, resources int) (*Tracker, []string) {
	tb.Helper()
	refs := make([]v1alpha1.ResourceRef, resources)
	res := make([]Resource, resources)
	for i := range refs {
		refs[i] = v1alpha1.ResourceRef{Kind: "File", Name: fmt.Sprintf("f%d", i)}
		res[i] = Resource{Ref: refs[i], Generation: "g"}
	}
	targets := make([]Target, hosts)
	names := make([]string, hosts)
	for i := range targets {
		names[i] = fmt.Sprintf("host%05d", i)
		targets[i] = Target{Name: names[i], Address: "127.0.0.1", Resources: refs}
	}
	tr := New()
	tr.SetManifests(targets, res, time.Now())
	return tr, names
}

// finish records a converged reconcile of one host, as the daemon does.
func finish(tr *Tracker, name string, now time.Time) {
	tr.UpdateHost(name, now, func(h *Host) {
		states := make([]ResourceState, len(h.Resources))
		for i, rs := range h.Resources {
			states[i] = ResourceState{Ref: rs.Ref, State: StateConverged}
		}
		h.Resources, h.Passed = states, true
		h.Status.Conditions = v1alpha1.SetCondition(h.Status.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionReady,
			Status: v1alpha1.ConditionTrue, Reason: "Converged"}, now)
	})
}

func TestTrackerCountsSnapshotsAndResourceStatus(t *testing.T) {
	tr, names := fleet(t, 3, 2)
	before := tr.Snapshot()
	if before.Counts != (Counts{Hosts: 3, Pending: 3}) {
		t.Fatalf("counts before any reconcile: %+v", before.Counts)
	}
	finish(tr, names[0], time.Now())
	tr.UpdateHost(names[1], time.Now(), func(h *Host) {
		h.Passed = true
		h.Resources = []ResourceState{{Ref: h.Resources[0].Ref, State: StateFailed, Message: "disk full"}, h.Resources[1]}
		h.Status.Conditions = v1alpha1.SetCondition(h.Status.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionQuarantined,
			Status: v1alpha1.ConditionTrue}, time.Now())
	})
	after := tr.Snapshot()
	if want := (Counts{Hosts: 3, Ready: 1, Quarantined: 1, Pending: 1, Passed: 2}); after.Counts != want {
		t.Fatalf("counts = %+v, want %+v", after.Counts, want)
	}
	if before.Counts.Ready != 0 || before.Hosts[0].Passed {
		t.Fatal("an earlier snapshot changed after updates")
	}
	if tr.Snapshot() != after {
		t.Fatal("a snapshot is rebuilt although nothing changed")
	}
	cs := after.ControllerStatus()
	if len(cs.Hosts) != 3 || len(cs.Resources) != 2 {
		t.Fatalf("status has %d hosts and %d resources", len(cs.Hosts), len(cs.Resources))
	}
	f0 := cs.Resources[0]
	if len(f0.Hosts) != 3 || f0.Conditions[0].Reason != "Failed" || f0.Conditions[0].Message != "failed on "+names[1]+": disk full" {
		t.Fatalf("File/f0 status = %+v", f0)
	}
	if c := cs.Resources[1].Conditions[0]; c.Reason != "NotConverged" || c.Message != "pending on "+names[1] {
		t.Fatalf("File/f1 condition = %+v", c)
	}

	// Round trip through the saved form keeps records and drops Passed.
	re := New()
	re.Restore(cs)
	removed := re.SetManifests([]Target{{Name: names[1], Resources: []v1alpha1.ResourceRef{{Kind: cs.Resources[0].Kind, Name: cs.Resources[0].Name}}}}, nil, time.Now())
	if len(removed) != 2 {
		t.Fatalf("removed %v, want the two hosts no longer in the manifests", removed)
	}
	h, _ := re.Host(names[1])
	if h.Passed || len(h.Resources) != 1 || h.Resources[0].State != StateFailed || h.Class() != ClassQuarantined {
		t.Fatalf("restored host = %+v", h)
	}
}

func TestSubscribeBatchesLatestRecordPerHost(t *testing.T) {
	tr, names := fleet(t, 4, 1)
	updates, cancel := tr.Subscribe()
	defer cancel()
	// Nobody reads while three changes happen: they arrive as at most two
	// batches (one may have been taken before the others), each host once,
	// with its latest record.
	finish(tr, names[0], time.Now())
	finish(tr, names[1], time.Now())
	finish(tr, names[0], time.Now())
	seen := map[string]*Host{}
	var last Update
	for last.Version != tr.Snapshot().Version {
		select {
		case u := <-updates:
			for _, hu := range u.Hosts {
				seen[hu.Name] = hu.Host
			}
			last = u
		case <-time.After(5 * time.Second):
			t.Fatal("no update delivered")
		}
	}
	if len(seen) != 2 || !seen[names[0]].Passed || !seen[names[1]].Passed || last.Counts.Ready != 2 {
		t.Fatalf("updates: hosts %v, counts %+v", seen, last.Counts)
	}
	if got, _ := tr.Host(names[0]); seen[names[0]] != got {
		t.Fatal("the update does not carry the host's latest record")
	}
	cancel()
	if _, open := <-updates; open {
		t.Fatal("channel still open after cancel")
	}
}

// TestOneHostUpdateCostsItsOwnResources records one host of a 10,000-host
// fleet and prints what it cost; it asserts no timing (the machine is
// shared), only that the update left the other hosts' records alone.
func TestOneHostUpdateCostsItsOwnResources(t *testing.T) {
	tr, names := fleet(t, 10_000, 10)
	other, _ := tr.Host(names[1])
	const n = 1000
	start := time.Now()
	for i := range n {
		finish(tr, names[i%len(names)], time.Now())
	}
	per := time.Since(start) / n
	snapStart := time.Now()
	snap := tr.Snapshot()
	snapTook := time.Since(snapStart)
	csStart := time.Now()
	cs := snap.ControllerStatus()
	csTook := time.Since(csStart)
	t.Logf("10,000 hosts × 10 resources: one host's update %s; snapshot %s; full API status %s (%d resources × %d hosts)",
		per, snapTook, csTook, len(cs.Resources), len(cs.Resources[0].Hosts))
	if snap.Counts.Ready != n || snap.Counts.Pending != 10_000-n {
		t.Fatalf("counts %+v", snap.Counts)
	}
	if now, _ := tr.Host(names[1]); now == other {
		t.Fatal("host 1 was finished but kept its record")
	}
	if now, _ := tr.Host(names[n+1]); len(now.Resources) != 10 || now.Resources[0].State != StatePending {
		t.Fatalf("an untouched host changed: %+v", now)
	}
}

func BenchmarkUpdateOneHost(b *testing.B) {
	for _, hosts := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("hosts=%d/resources=10", hosts), func(b *testing.B) {
			tr, names := fleet(b, hosts, 10)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				finish(tr, names[i%len(names)], time.Now())
				i++
			}
		})
	}
}

func BenchmarkSnapshotAfterUpdate(b *testing.B) {
	tr, names := fleet(b, 10_000, 10)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		finish(tr, names[i%len(names)], time.Now())
		_ = tr.Snapshot()
		i++
	}
}

// BenchmarkControllerStatus renders the whole status, as the state file
// and the status API do, at the size of the controller benchmark.
func BenchmarkControllerStatus(b *testing.B) {
	tr, names := fleet(b, 1_000, 60)
	for _, n := range names {
		finish(tr, n, time.Now())
	}
	snap := tr.Snapshot()
	b.ReportAllocs()
	for b.Loop() {
		_ = snap.ControllerStatus()
	}
}
