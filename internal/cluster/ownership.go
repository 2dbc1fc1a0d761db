package cluster

import (
	"context"
	"fmt"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ownership is a host this replica holds: the owner key's mod revision is
// the fencing token.
type ownership struct {
	token int64
	lease clientv3.LeaseID
}

// claimBatch is how many hosts one claiming transaction carries: each is a
// nested transaction, within etcd's default limit of 128 operations.
const claimBatch = 64

// claim takes the ownership of hosts nobody holds, claimBatch hosts per
// transaction, each host in a nested create-if-absent transaction. The
// owner key is created under this replica's lease; its revision is the
// fencing token. It reports how many hosts it took.
func (r *Replica) claim(ctx context.Context, hosts []string) (int, error) {
	r.mu.Lock()
	lease := r.lease
	r.mu.Unlock()
	if lease == clientv3.NoLease {
		return 0, nil
	}
	taken := 0
	for start := 0; start < len(hosts); start += claimBatch {
		batch := hosts[start:min(start+claimBatch, len(hosts))]
		ops := make([]clientv3.Op, len(batch))
		for i, h := range batch {
			key := r.k.owner(h)
			ops[i] = clientv3.OpTxn(
				[]clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(key), "=", 0)},
				[]clientv3.Op{clientv3.OpPut(key, r.cfg.ID, clientv3.WithLease(lease))},
				[]clientv3.Op{clientv3.OpGet(key)})
		}
		resp, err := r.cli.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return taken, fmt.Errorf("claim %d hosts: %w", len(batch), err)
		}
		r.mu.Lock()
		for i, h := range batch {
			sub := resp.Responses[i].GetResponseTxn()
			var token int64
			if sub.Succeeded {
				token = resp.Header.Revision
			} else {
				kvs := sub.Responses[0].GetResponseRange().Kvs
				if len(kvs) != 1 || clientv3.LeaseID(kvs[0].Lease) != lease {
					continue // held by another replica until it lets go or its lease expires
				}
				if r.releasing[h] == kvs[0].ModRevision {
					// Ours, but a release of this very ownership waits to
					// delete it: adopting it would lose the host to that
					// deletion. It is claimed afresh once the key is gone.
					continue
				}
				token = kvs[0].ModRevision // ours already (a step repeated after an error)
			}
			if r.lease == lease {
				r.owned[h] = ownership{token: token, lease: lease}
				taken++
			}
		}
		r.mu.Unlock()
	}
	return taken, nil
}

// release gives a host up: it is forgotten at once, so no new act starts
// and an act in flight is refused at its next fence; once that reconcile
// has ended, the owner key is deleted, only if it is still this ownership.
// The deletion runs in the background so that one slow reconcile does not
// hold up the replica's other changes.
func (r *Replica) release(host string) {
	r.mu.Lock()
	o, ok := r.owned[host]
	delete(r.owned, host)
	if ok {
		if r.releasing == nil {
			r.releasing = map[string]int64{}
		}
		r.releasing[host] = o.token
	}
	r.mu.Unlock()
	if !ok {
		return
	}
	lock := r.actingLock(host)
	go func() {
		lock.Lock()
		defer lock.Unlock()
		defer func() {
			r.mu.Lock()
			if r.releasing[host] == o.token {
				delete(r.releasing, host)
			}
			r.mu.Unlock()
			r.poke() // a step may claim it again now
		}()
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.TTL)
		defer cancel()
		key := r.k.owner(host)
		if _, err := r.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", o.token)).
			Then(clientv3.OpDelete(key)).Commit(); err != nil {
			// The key stays until the lease expires: a delay, not a conflict.
			r.log.Warn("release", "host", host, "err", err)
			return
		}
		r.log.Debug("released", "host", host)
	}()
}

func (r *Replica) releaseAll() {
	for _, h := range r.Owned() {
		r.release(h)
	}
	r.mu.Lock()
	r.assigned = map[string]bool{}
	r.mu.Unlock()
}

func (r *Replica) actingLock(host string) *sync.Mutex {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.acting[host]
	if l == nil {
		l = &sync.Mutex{}
		r.acting[host] = l
	}
	return l
}
