package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/internal/cluster"
	"github.com/optimus-cm/optimus/internal/etcdtest"
)

// writeFleetVersion writes four hosts and a one-host canary policy; each
// version gives every host another spec, so a new generation.
func writeFleetVersion(t *testing.T, dir string, version int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: optimus.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {name: canary}\nspec: {batches: [\"1\", \"100%\"], maxFail: \"0\"}\n")
	for i := 1; i <= 4; i++ {
		fmt.Fprintf(&b, "---\napiVersion: optimus.dev/v1alpha1\nkind: Host\nmetadata: {name: h%d}\nspec: {address: 127.0.0.1, port: %d, connectTimeout: %ds}\n",
			i, 2200+i, version)
	}
	if err := os.WriteFile(filepath.Join(dir, "fleet.yaml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func newTestReplica(t *testing.T, etcd *etcdtest.Cluster, id, dir string) *Daemon {
	t.Helper()
	r, err := cluster.New(cluster.Config{Client: etcd.Client(t), Prefix: "/optimus-test", ID: id})
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions(t)
	opts.Dir, opts.Replica = dir, r
	d, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.cancelBG)
	return d
}

// TestReplicaLoadsManifestsTheFleetMovedTo: a replica that reads the
// fleet's move to new manifests before it has loaded them itself (it was
// stopped while the others agreed and moved) keeps every host the rollout
// holds on what it had once it loads them. The chaos run found a replica
// resumed after SIGSTOP taking its hosts past a halted rollout: its view of
// the rollout, derived while its manifests differed from the record's, held
// no host.
func TestReplicaLoadsManifestsTheFleetMovedTo(t *testing.T) {
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	dirA, dirB := t.TempDir(), t.TempDir()
	writeFleetVersion(t, dirA, 1)
	writeFleetVersion(t, dirB, 2)
	a, b := newTestReplica(t, etcd, "a", dirA), newTestReplica(t, etcd, "b", dirB)

	a.reload()
	if err := a.moveTo(ctx); err != nil { // the fleet is on version 1
		t.Fatal(err)
	}
	a.mu.Lock()
	v1 := a.desired["h3"]
	a.mu.Unlock()
	b.reload()
	if err := b.moveTo(ctx); err != nil { // and moves to version 2: h1 first, the others held
		t.Fatal(err)
	}
	if st := b.RolloutStatus(); st == nil || st.Pending != 3 {
		t.Fatalf("rollout on b: %+v; want three hosts held", st)
	}

	a.refresh(ctx) // a reads the move while its manifests are still version 1
	a.mu.Lock()
	if want := a.effectiveLocked("h3"); want != nil {
		t.Errorf("before loading version 2, a reconciles h3 to generation %s; want nothing until it is in step", want.generation)
	}
	a.mu.Unlock()

	writeFleetVersion(t, dirA, 2) // then its copy changes, and it loads it
	a.reload()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, name := range []string{"h2", "h3", "h4"} {
		if got := genOf(a.effectiveLocked(name)); got != a.rec.Rollout.Held[name].Generation {
			t.Errorf("%s after a loaded version 2: reconciled to generation %q; want its held generation %s (version 1)", name, got, a.rec.Rollout.Held[name].Generation)
		}
	}
	if got := genOf(a.effectiveLocked("h3")); got != v1.generation {
		t.Errorf("h3: generation %q, want version 1's %s", got, v1.generation)
	}
	if got, want := genOf(a.effectiveLocked("h1")), a.desired["h1"].generation; got != want {
		t.Errorf("h1, the canary: generation %q; want version 2's %s", got, want)
	}
}

// genOf is the generation of a desired state, "" for none (not reconciled).
func genOf(d *desiredHost) string {
	if d == nil {
		return ""
	}
	return d.generation
}

// TestHostsPassedOverAreQueuedWhenInStep: hosts a replica passed over
// while the fleet's stored state was not about its manifests are queued
// once it is, also when a read of no state came in between (the first
// replica of a fleet once waited a whole resync period for its hosts).
func TestHostsPassedOverAreQueuedWhenInStep(t *testing.T) {
	etcd := etcdtest.Start(t)
	dir := t.TempDir()
	writeFleetVersion(t, dir, 1)
	a := newTestReplica(t, etcd, "a", dir)
	a.reload()
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if want := a.effectiveLocked("h2"); want != nil { // a reconcile passes it over
		t.Fatalf("h2 reconciled to %s before the fleet has a state", want.generation)
	}
	if q := a.applyLocked(nil, nil, 0, now); len(q) != 0 { // no state stored yet
		t.Errorf("queued %v with no state", q)
	}
	q := a.applyLocked(&fleetRecord{Current: a.digest}, nil, 1, now)
	if !slices.Contains(q, "h2") {
		t.Errorf("in step: queued %v; want h2, passed over before", q)
	}
	if want := a.effectiveLocked("h2"); want == nil || want != a.desired["h2"] {
		t.Errorf("in step: h2 reconciled to %v, want the manifests in hand", want)
	}
}

// TestResyncQueuesOwnedHostsOnly: among replicas a resync queues the hosts
// this replica owns, not the whole fleet (the others' hosts were queued
// only to be dropped: at 10,000 hosts, two thirds of every queue).
func TestResyncQueuesOwnedHostsOnly(t *testing.T) {
	etcd := etcdtest.Start(t)
	dir := t.TempDir()
	writeFleetVersion(t, dir, 1)
	a, b := newTestReplica(t, etcd, "a", dir), newTestReplica(t, etcd, "b", dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, d := range []*Daemon{a, b} {
		d.reload()
		go func() { _ = d.opts.Replica.Run(ctx) }()
	}
	deadline := time.Now().Add(time.Minute)
	for len(a.opts.Replica.Owned()) == 0 || len(b.opts.Replica.Owned())+len(a.opts.Replica.Owned()) != 4 {
		if time.Now().After(deadline) {
			t.Fatalf("hosts not shared after a minute: a %v, b %v", a.opts.Replica.Owned(), b.opts.Replica.Owned())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, d := range []*Daemon{a, b} {
		for d.q.Len() > 0 { // what the loads queued
			h, _ := d.q.Get()
			d.q.Done(h)
		}
	}
	owned := a.opts.Replica.Owned()
	a.resync()
	var queued []string
	for a.q.Len() > 0 {
		h, _ := a.q.Get()
		a.q.Done(h)
		queued = append(queued, h)
	}
	slices.Sort(queued)
	if !slices.Equal(queued, owned) {
		t.Errorf("resync queued %v; want the hosts a owns, %v", queued, owned)
	}
}

// TestHostPassedOverDuringALeaseBlipIsQueuedAgain: a host this replica
// still owns but passed over while etcd had not confirmed its lease lately
// (it was only observed) is queued again once the replica may act, not
// left to the next resync: at 10,000 hosts a rollout's first batch waited
// for such a host.
func TestHostPassedOverDuringALeaseBlipIsQueuedAgain(t *testing.T) {
	etcd := etcdtest.Start(t)
	dir := t.TempDir()
	writeFleetVersion(t, dir, 1)
	a := newTestReplica(t, etcd, "a", dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.reload()
	go func() { _ = a.opts.Replica.Run(ctx) }()
	deadline := time.Now().Add(time.Minute)
	for len(a.opts.Replica.Owned()) != 4 || !a.opts.Replica.Owns("h2") {
		if time.Now().After(deadline) {
			t.Fatalf("a owns %v after a minute; want all four hosts", a.opts.Replica.Owned())
		}
		time.Sleep(50 * time.Millisecond)
	}
	drain := func() []string {
		var queued []string
		for a.q.Len() > 0 {
			h, _ := a.q.Get()
			a.q.Done(h)
			queued = append(queued, h)
		}
		return queued
	}
	a.replicaChanged() // the hosts gained
	drain()
	a.deferOwned("h2") // what a reconcile during the blip does
	a.replicaChanged()
	if q := drain(); !slices.Equal(q, []string{"h2"}) {
		t.Errorf("queued %v once the replica may act; want h2, passed over", q)
	}
	a.replicaChanged()
	if q := drain(); len(q) != 0 {
		t.Errorf("queued %v again; want nothing once h2 was queued", q)
	}
}
