package cluster

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/optimus-cm/optimus/internal/etcdtest"
)

const testTTL = 2 * time.Second

type running struct {
	*Replica
	stop func()
	done chan struct{}
}

func startReplica(t *testing.T, cli *clientv3.Client, id, digest string, hosts []string) *running {
	t.Helper()
	var log *slog.Logger
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	r, err := New(Config{Client: cli, Prefix: "/test", ID: id, TTL: testTTL, StatusDebounce: 50 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	r.SetHosts(hosts)
	r.SetDigest(digest)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	rr := &running{Replica: r, stop: func() { cancel(); <-done }, done: done}
	t.Cleanup(func() { cancel(); <-done })
	return rr
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func fleet(t *testing.T, cli *clientv3.Client) *Fleet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, err := ReadFleet(ctx, cli, "/test")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// settled reports whether every host has exactly one owner, the same in
// the replicas' own views and in etcd's owner keys, and returns host ->
// owner. The replicas are read one after the other, so a host handed over
// between two reads may show twice: that is "not settled yet", not a fault.
func settled(t *testing.T, cli *clientv3.Client, hosts []string, rs ...*running) (map[string]string, bool) {
	own := map[string]string{}
	for _, r := range rs {
		for _, h := range r.Owned() {
			if _, dup := own[h]; dup {
				return own, false
			}
			own[h] = r.ID()
		}
	}
	if len(own) != len(hosts) {
		return own, false
	}
	f := fleet(t, cli)
	for h, id := range own {
		if f.Owners[h] != id {
			return own, false
		}
	}
	return own, len(f.Owners) == len(hosts)
}

func TestReplicasShareHostsExactlyOnce(t *testing.T) {
	cli := etcdtest.Start(t).Client(t)
	hosts := hostNames(30)
	a := startReplica(t, cli, "a", "d1", hosts)
	b := startReplica(t, cli, "b", "d1", hosts)
	c := startReplica(t, cli, "c", "d1", hosts)
	var own map[string]string
	waitFor(t, "30 hosts owned once among a, b, c", func() bool {
		var ok bool
		own, ok = settled(t, cli, hosts, a, b, c)
		return ok && len(a.Owned()) > 0 && len(b.Owned()) > 0 && len(c.Owned()) > 0
	})
	bound := LoadBound(len(hosts), 3, DefaultLoadFactor)
	for _, r := range []*running{a, b, c} {
		if n := len(r.Owned()); n > bound {
			t.Errorf("%s owns %d hosts, bound %d", r.ID(), n, bound)
		}
		if st, msg := r.Condition(); st != StateActive {
			t.Errorf("%s: %s %s", r.ID(), st, msg)
		}
	}
	f := fleet(t, cli)
	if len(f.Members) != 3 || f.Generation == nil || f.Generation.Digest != "d1" {
		t.Fatalf("fleet: %+v", f)
	}

	// c leaves cleanly: only c's hosts move, and they move at once.
	c.stop()
	before := own
	waitFor(t, "c's hosts taken over by a and b", func() bool {
		var ok bool
		own, ok = settled(t, cli, hosts, a, b)
		return ok
	})
	for h, id := range before {
		if id != "c" && own[h] != id {
			t.Errorf("host %s moved from %s to %s though its owner stayed", h, id, own[h])
		}
	}
}

func TestStaleOwnerIsFenced(t *testing.T) {
	cli := etcdtest.Start(t).Client(t)
	hosts := hostNames(4)
	a := startReplica(t, cli, "a", "d1", hosts)
	waitFor(t, "a owns every host", func() bool { return len(a.Owned()) == 4 })
	hold, err := a.Acquire(hosts[0])
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := hold.Fence(ctx); err != nil {
		t.Fatalf("fence of a live owner: %v", err)
	}
	// Another replica takes the host behind a's back (as after a's lease
	// expired in etcd while a was paused): the owner key is replaced.
	grant, err := cli.Grant(ctx, 30)
	if err != nil {
		t.Fatal(err)
	}
	key := "/test/owners/" + hosts[0]
	if _, err := cli.Put(ctx, key, "intruder", clientv3.WithLease(grant.ID)); err != nil {
		t.Fatal(err)
	}
	statusKey := "/test/status/" + hosts[0]
	err = hold.Fence(ctx, clientv3.OpPut(statusKey, "stale"))
	var fe *FenceError
	if !errors.Is(err, ErrFenced) || !errors.As(err, &fe) || fe.Host != hosts[0] {
		t.Fatalf("fence of a stale owner: %v", err)
	}
	hold.Release()
	resp, err := cli.Get(ctx, statusKey)
	if err != nil || len(resp.Kvs) != 0 {
		t.Fatalf("the stale owner's guarded write went through: %v %v", resp, err)
	}
	if _, err := a.Acquire(hosts[0]); !errors.Is(err, ErrFenced) {
		t.Fatalf("acquire after losing the host: %v", err)
	}
	// Status writes go through the same guard: only owned hosts are written.
	for _, h := range hosts {
		if err := a.PublishStatus(h, map[string]string{"ready": "yes"}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "status of the three owned hosts", func() bool { return len(fleet(t, cli).Status) == 3 })
	f := fleet(t, cli)
	if _, ok := f.Status[hosts[0]]; ok {
		t.Fatalf("status written for a host a no longer owns: %+v", f.Status[hosts[0]])
	}
	for _, h := range hosts[1:] {
		if f.Status[h].Replica != "a" || string(f.Status[h].Status) != `{"ready":"yes"}` {
			t.Errorf("status of %s: %+v", h, f.Status[h])
		}
	}
}

func TestLosingEtcdStopsActingAndResumes(t *testing.T) {
	c := etcdtest.Start(t)
	cli := c.Client(t)
	hosts := hostNames(6)
	a := startReplica(t, cli, "a", "d1", hosts)
	waitFor(t, "a owns every host", func() bool { return len(a.Owned()) == 6 })
	hold, err := a.Acquire(hosts[0])
	if err != nil {
		t.Fatal(err)
	}
	c.Members[0].Stop()
	waitFor(t, "a refuses to act without etcd", func() bool {
		return hold.local() != nil
	})
	err = hold.Fence(context.Background())
	if !errors.Is(err, ErrFenced) {
		t.Fatalf("fence without etcd: %v", err)
	}
	hold.Release()
	waitFor(t, "EtcdUnavailable", func() bool { st, _ := a.Condition(); return st == StateEtcdUnavailable })
	for _, h := range hosts {
		if a.Owns(h) {
			t.Fatalf("a may still act on %s without etcd", h)
		}
	}
	if err := c.Members[0].Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a active again with every host", func() bool {
		st, _ := a.Condition()
		return st == StateActive && len(a.Owned()) == 6 && a.Owns(hosts[0])
	})
}

func TestOutOfSyncReplicaActsOnNothing(t *testing.T) {
	cli := etcdtest.Start(t).Client(t)
	hosts := hostNames(10)
	a := startReplica(t, cli, "a", "d1", hosts)
	waitFor(t, "a owns every host", func() bool { return len(a.Owned()) == 10 })
	b := startReplica(t, cli, "b", "d2", hosts)
	waitFor(t, "b out of sync", func() bool { st, _ := b.Condition(); return st == StateConfigOutOfSync })
	_, msg := b.Condition()
	for _, d := range []string{"d1", "d2"} {
		if !strings.Contains(msg, d) {
			t.Errorf("message %q does not name digest %s", msg, d)
		}
	}
	if n := len(b.Owned()); n != 0 {
		t.Fatalf("out-of-sync b owns %d hosts", n)
	}
	if len(a.Owned()) != 10 {
		t.Fatalf("a owns %v", a.Owned())
	}
	// b's copy catches up: the fleet agrees and b takes a share.
	b.SetDigest("d1")
	waitFor(t, "b takes a share", func() bool {
		_, ok := settled(t, cli, hosts, a, b)
		return ok && len(b.Owned()) > 0
	})
	// Both move to d3: the generation follows once every replica has it.
	a.SetDigest("d3")
	waitFor(t, "a out of sync alone", func() bool { st, _ := a.Condition(); return st == StateConfigOutOfSync })
	b.SetDigest("d3")
	waitFor(t, "generation d3", func() bool {
		f := fleet(t, cli)
		sa, _ := a.Condition()
		sb, _ := b.Condition()
		return f.Generation.Digest == "d3" && sa == StateActive && sb == StateActive
	})
}

func TestDuplicateIDRefused(t *testing.T) {
	cli := etcdtest.Start(t).Client(t)
	a := startReplica(t, cli, "a", "d1", hostNames(2))
	waitFor(t, "a active", func() bool { st, _ := a.Condition(); return st == StateActive })
	a2 := startReplica(t, cli, "a", "d1", hostNames(2))
	time.Sleep(testTTL)
	if st, msg := a2.Condition(); st == StateActive || !strings.Contains(msg, "already in use") {
		t.Fatalf("second replica named a: %s %s", st, msg)
	}
	if len(a2.Owned()) != 0 {
		t.Fatal("a duplicate replica owns hosts")
	}
}

// A replica stops acting Margin before its lease could expire in etcd,
// counted from the last keepalive etcd confirmed.
func TestLeaseFreshness(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &Replica{cfg: Config{TTL: 3 * time.Second, Margin: time.Second}, lease: 1, lastKA: t0}
	for _, tc := range []struct {
		after time.Duration
		fresh bool
	}{{0, true}, {1900 * time.Millisecond, true}, {2 * time.Second, false}, {3 * time.Second, false}} {
		if got := r.leaseFreshLocked(t0.Add(tc.after)); got != tc.fresh {
			t.Errorf("%s after the last keepalive: fresh=%v, want %v", tc.after, got, tc.fresh)
		}
	}
	r.lease = clientv3.NoLease
	if r.leaseFreshLocked(t0) {
		t.Error("fresh without a lease")
	}
}

// Two replicas claiming the same hosts at the same moment: each host goes
// to exactly one of them, and the other's claim leaves it alone.
func TestClaimIsExclusive(t *testing.T) {
	cli := etcdtest.Start(t).Client(t)
	ctx := context.Background()
	hosts := hostNames(200)
	var rs []*Replica
	for _, id := range []string{"a", "b"} {
		r, err := New(Config{Client: cli, Prefix: "/test", ID: id, TTL: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		grant, err := cli.Grant(ctx, 30)
		if err != nil {
			t.Fatal(err)
		}
		r.lease = grant.ID
		rs = append(rs, r)
	}
	// b claims in the opposite order, so the two meet in the middle.
	reversed := make([]string, len(hosts))
	for i, h := range hosts {
		reversed[len(hosts)-1-i] = h
	}
	errs := make(chan error, 2)
	for i, r := range rs {
		order := hosts
		if i == 1 {
			order = reversed
		}
		go func() { _, err := r.claim(ctx, order); errs <- err }()
	}
	for range rs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	f := fleet(t, cli)
	for _, h := range hosts {
		_, inA := rs[0].owned[h]
		_, inB := rs[1].owned[h]
		if inA == inB {
			t.Fatalf("host %s: owned by a=%v b=%v", h, inA, inB)
		}
		want := "a"
		if inB {
			want = "b"
		}
		if f.Owners[h] != want {
			t.Fatalf("host %s: etcd says %q, replicas say %s", h, f.Owners[h], want)
		}
	}
	t.Logf("a took %d, b took %d", len(rs[0].owned), len(rs[1].owned))
}

// TestReclaimWaitsForRelease: a replica that releases a host while a
// reconcile still holds it (its manifests went out of sync for a moment)
// and then gets it back must not adopt the owner key its own pending
// release is about to delete: once the reconcile ends, the host is owned
// again under a new key, in etcd as in the replica's memory.
func TestReclaimWaitsForRelease(t *testing.T) {
	cli := etcdtest.Start(t).Client(t)
	hosts := hostNames(6)
	a := startReplica(t, cli, "a", "d1", hosts)
	b := startReplica(t, cli, "b", "d1", hosts)
	waitFor(t, "a and b share the hosts", func() bool {
		_, ok := settled(t, cli, hosts, a, b)
		return ok && len(a.Owned()) > 0
	})
	host := a.Owned()[0]
	hold, err := a.Acquire(host)
	if err != nil {
		t.Fatal(err)
	}
	first := hold.Token()
	// Out of sync and back while the reconcile holds the host.
	a.SetDigest("d2")
	waitFor(t, "a out of sync", func() bool { st, _ := a.Condition(); return st == StateConfigOutOfSync })
	a.SetDigest("d1")
	waitFor(t, "a active again", func() bool { st, _ := a.Condition(); return st == StateActive })
	time.Sleep(3 * testTTL / 2) // several steps while the release waits
	if a.Owns(host) {
		t.Fatalf("a adopted %s while its release of token %d was pending", host, first)
	}
	hold.Release()
	waitFor(t, "a owns the host again, in etcd too", func() bool {
		f := fleet(t, cli)
		return a.Owns(host) && f.Owners[host] == "a"
	})
	again, err := a.Acquire(host)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Release()
	if again.Token() == first {
		t.Errorf("the new ownership has the released one's token %d", first)
	}
	if err := again.Fence(context.Background()); err != nil {
		t.Errorf("fence after the reclaim: %v", err)
	}
}
