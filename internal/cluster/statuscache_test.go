package cluster

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/internal/etcdtest"
)

// TestStatusCacheFollowsAnotherReplica: a status one replica writes
// appears in another's cache through the watch, with no further full read
// of the fleet however many updates there are; ownership and membership
// are followed the same way.
func TestStatusCacheFollowsAnotherReplica(t *testing.T) {
	cli := etcdtest.Start(t).Client(t)
	hosts := hostNames(6)
	a := startReplica(t, cli, "a", "d1", hosts)
	b := startReplica(t, cli, "b", "d1", hosts)
	waitFor(t, "6 hosts owned once among a and b", func() bool {
		_, ok := settled(t, cli, hosts, a, b)
		return ok && len(a.Owned()) > 0 && len(b.Owned()) > 0
	})
	var notified atomic.Int64
	cache := b.StatusCache(func(hs []string) { notified.Add(int64(len(hs))) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); cache.Run(ctx, 100*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the cache's first read", cache.Synced)

	host := a.Owned()[0]
	for i := range 5 {
		want := "update-" + string(rune('0'+i))
		if err := a.PublishStatus(host, map[string]string{"lastError": want}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "a's status of "+host+" in b's cache: "+want, func() bool {
			owner, rec, ok := cache.Host(host)
			return ok && owner == "a" && rec.Replica == "a" && strings.Contains(string(rec.Status), want)
		})
	}
	if n := cache.Reads(); n != 1 {
		t.Errorf("%d full reads of the fleet for 5 updates, want the first one only", n)
	}
	if notified.Load() == 0 {
		t.Error("the cache never said which hosts changed")
	}
	members, owned := cache.Members()
	if len(members) != 2 || owned["a"]+owned["b"] != len(hosts) || owned["a"] != len(a.Owned()) {
		t.Errorf("members %+v, owned %v; want a and b owning %d hosts", members, owned, len(hosts))
	}
	if g := cache.Generation(); g == nil || g.Digest != "d1" {
		t.Errorf("generation %+v, want d1", g)
	}
}

// TestStatusCacheResyncsAfterCompaction: a watch that starts behind a
// compaction ends, and the next full read brings what it missed.
func TestStatusCacheResyncsAfterCompaction(t *testing.T) {
	cli := etcdtest.Start(t).Client(t)
	hosts := hostNames(2)
	a := startReplica(t, cli, "a", "d1", hosts)
	waitFor(t, "a owns both hosts", func() bool { return len(a.Owned()) == 2 })
	cache := a.StatusCache(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cache.resync(ctx); err != nil {
		t.Fatal(err)
	}
	// While the cache is not watching, a status is written and the
	// history it would have read is compacted away.
	if err := a.PublishStatus(hosts[0], map[string]string{"lastError": "missed"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the status written to etcd", func() bool {
		resp, err := cli.Get(ctx, "/test/status/"+hosts[0])
		return err == nil && len(resp.Kvs) == 1
	})
	// One more write, outside the fleet's keys, so that the compaction
	// removes the revision of the status write too.
	resp, err := cli.Put(ctx, "/elsewhere", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	followed := make(chan struct{})
	go func() { defer close(followed); cache.follow(ctx) }()
	select {
	case <-followed:
	case <-time.After(20 * time.Second):
		t.Fatal("a watch behind a compaction did not end")
	}
	if _, _, ok := cache.Host(hosts[0]); ok {
		t.Fatal("the cache has a status it could only have read after the compaction")
	}
	if err := cache.resync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, rec, ok := cache.Host(hosts[0]); !ok || !strings.Contains(string(rec.Status), "missed") || cache.Reads() != 2 {
		t.Errorf("after the resync: %s (reads %d)", rec.Status, cache.Reads())
	}
}
