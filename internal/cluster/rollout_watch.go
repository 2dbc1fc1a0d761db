package cluster

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// outcomeCache mirrors PREFIX/rollout/outcomes/ in memory, fed by the
// watch WatchRollout runs. It is in sync from a read until the watch
// breaks; out of sync, RolloutState reads etcd.
type outcomeCache struct {
	mu     sync.Mutex
	synced bool
	byHost map[string][]byte
	// reads counts the full reads of every outcome (tests, metrics).
	reads atomic.Int64
}

// copy returns the outcomes, if the cache is in sync.
func (c *outcomeCache) copy() (map[string][]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.synced {
		return nil, false
	}
	out := make(map[string][]byte, len(c.byHost))
	for h, v := range c.byHost {
		out[h] = v
	}
	return out, true
}

func (c *outcomeCache) fill(byHost map[string][]byte) {
	c.mu.Lock()
	c.byHost, c.synced = byHost, true
	c.mu.Unlock()
}

func (c *outcomeCache) unsync() {
	c.mu.Lock()
	c.byHost, c.synced = nil, false
	c.mu.Unlock()
}

func (c *outcomeCache) apply(prefix string, evs []*clientv3.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range evs {
		host, ok := strings.CutPrefix(string(ev.Kv.Key), prefix)
		if !ok || !c.synced {
			continue
		}
		if ev.Type == mvccpb.DELETE {
			delete(c.byHost, host)
		} else {
			c.byHost[host] = ev.Kv.Value
		}
	}
}

// OutcomeReads is how many times every outcome was read from etcd: once
// per start or break of the rollout watch, not once per outcome.
func (r *Replica) OutcomeReads() int64 { return r.outcomes.reads.Load() }

// WatchRollout signals (coalesced) every change of the rollout record or an
// outcome, until ctx ends, and keeps the outcomes cached for RolloutState:
// one read of them, then only the changes. A broken watch is started again
// from a new read; a change missed meanwhile is caught by a signal sent on
// each start.
func (r *Replica) WatchRollout(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	signal := func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	go func() {
		defer r.outcomes.unsync()
		for ctx.Err() == nil {
			r.outcomes.reads.Add(1)
			resp, err := r.cli.Get(ctx, r.k.outcomes(), clientv3.WithPrefix())
			if err != nil {
				signal() // RolloutState reads etcd meanwhile
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
				continue
			}
			byHost := make(map[string][]byte, len(resp.Kvs))
			for _, kv := range resp.Kvs {
				byHost[strings.TrimPrefix(string(kv.Key), r.k.outcomes())] = kv.Value
			}
			r.outcomes.fill(byHost)
			signal()
			wch := r.cli.Watch(clientv3.WithRequireLeader(ctx), r.k.prefix+"/rollout/", clientv3.WithPrefix(),
				clientv3.WithRev(resp.Header.Revision+1))
			for wr := range wch {
				if wr.Err() != nil || wr.Canceled {
					break
				}
				r.outcomes.apply(r.k.outcomes(), wr.Events)
				signal()
			}
			r.outcomes.unsync()
		}
	}()
	return ch
}
