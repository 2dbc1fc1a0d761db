package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// StatusCache is the fleet as etcd holds it, read once and then kept up
// to date by a watch: members, owners and host status records. Serving
// the fleet's status from it costs no request to etcd; a watch that breaks
// or falls behind a compaction is followed by one full read (a resync).
type StatusCache struct {
	cli      *clientv3.Client
	k        keys
	onChange func(hosts []string)

	mu      sync.Mutex
	synced  bool
	rev     int64
	members map[string]Member
	owners  map[string]string
	status  map[string]HostRecord
	owned   map[string]int // replica ID -> hosts it owns
	gen     *Generation

	reads atomic.Int64
}

// NewStatusCache returns a cache of the fleet under prefix. onChange, if
// not nil, is called (from the cache's goroutine, never under its lock)
// with the hosts whose owner or status changed; after a full read it
// names every host that changed in it.
func NewStatusCache(cli *clientv3.Client, prefix string, onChange func(hosts []string)) *StatusCache {
	return &StatusCache{cli: cli, k: keys{cleanPrefix(prefix)}, onChange: onChange,
		members: map[string]Member{}, owners: map[string]string{}, status: map[string]HostRecord{}, owned: map[string]int{}}
}

// StatusCache returns a cache of this replica's fleet.
func (r *Replica) StatusCache(onChange func(hosts []string)) *StatusCache {
	return NewStatusCache(r.cli, r.cfg.Prefix, onChange)
}

// Run reads the fleet and follows it until ctx ends. Errors are retried
// after retry (a second when zero); the cache keeps what it had meanwhile.
func (c *StatusCache) Run(ctx context.Context, retry time.Duration) {
	if retry <= 0 {
		retry = time.Second
	}
	for ctx.Err() == nil {
		if err := c.resync(ctx); err == nil {
			c.follow(ctx)
		}
		select {
		case <-ctx.Done():
		case <-time.After(retry):
		}
	}
}

// Reads counts the full reads of the fleet so far: one at the start, one
// per resync.
func (c *StatusCache) Reads() int64 { return c.reads.Load() }

// Synced reports whether the cache has read the fleet at least once.
func (c *StatusCache) Synced() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.synced
}

// Host returns a host's owner and the status record its owner last wrote.
func (c *StatusCache) Host(host string) (owner string, rec HostRecord, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rec, ok = c.status[host]
	return c.owners[host], rec, ok
}

// Generation returns the agreed manifests digest, nil before any.
func (c *StatusCache) Generation() *Generation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// Members returns the live replicas, by ID, with the number of hosts each
// owns.
func (c *StatusCache) Members() ([]Member, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ms := make([]Member, 0, len(c.members))
	for _, m := range c.members {
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].ID < ms[j].ID })
	owned := make(map[string]int, len(c.owned))
	for id, n := range c.owned {
		owned[id] = n
	}
	return ms, owned
}

// Fleet returns a copy of the cache in the form ReadFleet returns, lease
// TTLs looked up for each member (one request per replica, not per host).
func (c *StatusCache) Fleet(ctx context.Context) *Fleet {
	c.mu.Lock()
	f := &Fleet{Owners: make(map[string]string, len(c.owners)), Status: make(map[string]HostRecord, len(c.status)), LeaseTTL: map[string]int64{}}
	for h, o := range c.owners {
		f.Owners[h] = o
	}
	for h, r := range c.status {
		f.Status[h] = r
	}
	c.mu.Unlock()
	f.Members, _ = c.Members()
	f.Generation = c.Generation()
	f.LeaseTTL = c.LeaseTTLs(ctx)
	return f
}

// LeaseTTLs asks etcd for the seconds left on each member's lease: one
// request per replica.
func (c *StatusCache) LeaseTTLs(ctx context.Context) map[string]int64 {
	members, _ := c.Members()
	out := make(map[string]int64, len(members))
	for _, m := range members {
		if ttl, err := c.cli.TimeToLive(ctx, clientv3.LeaseID(m.Lease)); err == nil {
			out[m.ID] = ttl.TTL
		}
	}
	return out
}

// resync reads members, owners and status at one revision and replaces
// the cache with them.
func (c *StatusCache) resync(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := c.cli.Txn(rctx).Then(
		clientv3.OpGet(c.k.replicas(), clientv3.WithPrefix()),
		clientv3.OpGet(c.k.owners(), clientv3.WithPrefix()),
		clientv3.OpGet(c.k.status(), clientv3.WithPrefix()),
		clientv3.OpGet(c.k.generation()),
	).Commit()
	if err != nil {
		return fmt.Errorf("read fleet status from etcd: %w", err)
	}
	c.reads.Add(1)
	members, owners, recs := map[string]Member{}, map[string]string{}, map[string]HostRecord{}
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		var m Member
		if json.Unmarshal(kv.Value, &m) == nil {
			m.Lease = kv.Lease
			members[m.ID] = m
		}
	}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		owners[strings.TrimPrefix(string(kv.Key), c.k.owners())] = string(kv.Value)
	}
	for _, kv := range resp.Responses[2].GetResponseRange().Kvs {
		var hr HostRecord
		if json.Unmarshal(kv.Value, &hr) == nil {
			recs[strings.TrimPrefix(string(kv.Key), c.k.status())] = hr
		}
	}
	var gen *Generation
	if kvs := resp.Responses[3].GetResponseRange().Kvs; len(kvs) == 1 {
		gen = &Generation{}
		_ = json.Unmarshal(kvs[0].Value, gen)
	}
	c.mu.Lock()
	c.gen = gen
	var changed []string
	for h, o := range owners {
		if c.owners[h] != o {
			changed = append(changed, h)
		}
	}
	for h := range c.owners {
		if _, ok := owners[h]; !ok {
			changed = append(changed, h)
		}
	}
	for h, r := range recs {
		if old, ok := c.status[h]; !ok || old.At != r.At || old.Replica != r.Replica || string(old.Status) != string(r.Status) {
			changed = append(changed, h)
		}
	}
	for h := range c.status {
		if _, ok := recs[h]; !ok {
			changed = append(changed, h)
		}
	}
	c.members, c.owners, c.status = members, owners, recs
	c.owned = map[string]int{}
	for _, o := range owners {
		c.owned[o]++
	}
	c.rev, c.synced = resp.Header.Revision, true
	c.mu.Unlock()
	c.notify(changed)
	return nil
}

// follow applies the watch's events until it ends: ctx done, a
// compaction past the cache's revision, or any watch error.
func (c *StatusCache) follow(ctx context.Context) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	c.mu.Lock()
	from := c.rev + 1
	c.mu.Unlock()
	for resp := range c.cli.Watch(wctx, c.k.prefix+"/", clientv3.WithPrefix(), clientv3.WithRev(from)) {
		if resp.Err() != nil || resp.Canceled || resp.CompactRevision != 0 {
			return // the caller reads everything again
		}
		c.notify(c.apply(resp.Events, resp.Header.Revision))
	}
}

// apply changes the cache by events and returns the hosts they touched.
func (c *StatusCache) apply(events []*clientv3.Event, rev int64) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var changed []string
	for _, ev := range events {
		key, del := string(ev.Kv.Key), ev.Type == mvccpb.DELETE
		switch {
		case key == c.k.generation():
			c.gen = nil
			if !del {
				c.gen = &Generation{}
				_ = json.Unmarshal(ev.Kv.Value, c.gen)
			}
		case strings.HasPrefix(key, c.k.replicas()):
			id := strings.TrimPrefix(key, c.k.replicas())
			var m Member
			if del {
				delete(c.members, id)
			} else if json.Unmarshal(ev.Kv.Value, &m) == nil {
				m.Lease = ev.Kv.Lease
				c.members[id] = m
			}
		case strings.HasPrefix(key, c.k.owners()):
			host := strings.TrimPrefix(key, c.k.owners())
			if old, ok := c.owners[host]; ok {
				c.owned[old]--
				if c.owned[old] <= 0 {
					delete(c.owned, old)
				}
			}
			if del {
				delete(c.owners, host)
			} else {
				c.owners[host] = string(ev.Kv.Value)
				c.owned[string(ev.Kv.Value)]++
			}
			changed = append(changed, host)
		case strings.HasPrefix(key, c.k.status()):
			host := strings.TrimPrefix(key, c.k.status())
			var hr HostRecord
			if del {
				delete(c.status, host)
			} else if json.Unmarshal(ev.Kv.Value, &hr) == nil {
				c.status[host] = hr
			}
			changed = append(changed, host)
		}
	}
	c.rev = rev
	return changed
}

func (c *StatusCache) notify(hosts []string) {
	if c.onChange != nil && len(hosts) > 0 {
		c.onChange(hosts)
	}
}
