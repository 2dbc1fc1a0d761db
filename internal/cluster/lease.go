package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// leaseFreshLocked: etcd confirmed the lease recently enough that it cannot
// have expired there, with Margin to spare for the act itself.
func (r *Replica) leaseFreshLocked(now time.Time) bool {
	return r.lease != clientv3.NoLease && now.Sub(r.lastKA) < r.cfg.TTL-r.cfg.Margin
}

// Run keeps the replica's lease, membership, ownerships and status writes
// until ctx ends, then releases its hosts and revokes its lease so that
// the others take over at once.
func (r *Replica) Run(ctx context.Context) error {
	go r.statusLoop(ctx)
	var prev clientv3.LeaseID
	backoff := 200 * time.Millisecond
	for ctx.Err() == nil {
		sess, err := r.join(ctx, prev)
		if err != nil {
			if errors.Is(err, ErrDuplicateID) {
				r.setState(StateJoining, err.Error())
			} else {
				r.setState(StateEtcdUnavailable, "etcd: "+err.Error())
			}
			r.log.Warn("cannot join the fleet; retrying", "err", err, "in", backoff)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, r.cfg.TTL/2)
			continue
		}
		backoff = 200 * time.Millisecond
		prev = sess.Lease()
		r.serve(ctx, sess)
	}
	return nil
}

// join grants a lease, starts keeping it alive and registers the member key.
// A lease left from before (etcd was unreachable) is revoked, so the
// ownerships it held are freed at once instead of after its TTL.
func (r *Replica) join(ctx context.Context, prev clientv3.LeaseID) (*concurrency.Session, error) {
	ttl := int64(math.Ceil(r.cfg.TTL.Seconds()))
	cctx, cancel := context.WithTimeout(ctx, r.cfg.TTL)
	defer cancel()
	if prev != clientv3.NoLease {
		_, _ = r.cli.Revoke(cctx, prev)
	}
	grant, err := r.cli.Grant(cctx, ttl)
	if err != nil {
		return nil, fmt.Errorf("grant lease: %w", err)
	}
	sess, err := concurrency.NewSession(r.cli, concurrency.WithLease(grant.ID), concurrency.WithTTL(int(ttl)), concurrency.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("keep lease alive: %w", err)
	}
	now := time.Now()
	r.mu.Lock()
	r.lease, r.since, r.lastKA = grant.ID, now, now
	r.mu.Unlock()
	if err := r.putMember(cctx, true); err != nil {
		_ = sess.Close()
		r.mu.Lock()
		r.lease = clientv3.NoLease
		r.mu.Unlock()
		return nil, err
	}
	r.log.Info("joined the fleet", "lease", fmt.Sprintf("%x", int64(grant.ID)), "ttl", r.cfg.TTL)
	return sess, nil
}

// putMember writes the member key under the lease; on first registration
// it refuses an ID that another live lease holds.
func (r *Replica) putMember(ctx context.Context, first bool) error {
	r.mu.Lock()
	m := Member{ID: r.cfg.ID, Started: r.started, Since: r.since, Lease: int64(r.lease), Digest: r.digest, Addr: r.cfg.Addr}
	lease := r.lease
	r.mu.Unlock()
	b, _ := json.Marshal(m)
	key := r.k.replica(r.cfg.ID)
	put := clientv3.OpPut(key, string(b), clientv3.WithLease(lease))
	if !first {
		resp, err := r.cli.Txn(ctx).If(clientv3.Compare(clientv3.LeaseValue(key), "=", lease)).Then(put).Commit()
		if err != nil {
			return fmt.Errorf("update member key: %w", err)
		}
		if !resp.Succeeded {
			return fmt.Errorf("member key %s no longer under our lease", key)
		}
		return nil
	}
	resp, err := r.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).Then(put).Commit()
	if err != nil {
		return fmt.Errorf("register member: %w", err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("%s: %w", key, ErrDuplicateID)
	}
	return nil
}

// serve runs one lease's life: it follows the fleet, claims and releases
// hosts, and returns when the lease is lost or ctx ends.
func (r *Replica) serve(ctx context.Context, sess *concurrency.Session) {
	lease := sess.Lease()
	kaCtx, stopKA := context.WithCancel(ctx)
	defer stopKA()
	// A second keepalive listener on the same lease (the client multiplexes
	// them) tells when etcd last confirmed it: the basis of the local
	// deadline after which acting stops.
	kas, err := r.cli.KeepAlive(kaCtx, lease)
	if err != nil {
		r.log.Warn("keepalive", "err", err)
		return
	}
	watchCtx, stopWatch := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer stopWatch()
	// Status writes are frequent and change nothing here, so only members,
	// released or expired owners, and the generation wake the replica.
	// A watch closes when the cluster loses its leader; it is opened again
	// on the next tick rather than spun on.
	var memberEvents, ownerEvents, genEvents clientv3.WatchChan
	openWatches := func() {
		if memberEvents == nil {
			memberEvents = r.cli.Watch(watchCtx, r.k.replicas(), clientv3.WithPrefix())
		}
		if ownerEvents == nil {
			ownerEvents = r.cli.Watch(watchCtx, r.k.owners(), clientv3.WithPrefix(), clientv3.WithFilterPut())
		}
		if genEvents == nil {
			genEvents = r.cli.Watch(watchCtx, r.k.generation())
		}
	}
	openWatches()
	tick := time.NewTicker(r.cfg.TTL / 4)
	defer tick.Stop()
	r.mu.Lock()
	r.observing = map[string]bool{}
	r.mu.Unlock()
	r.setState(StateActive, "")
	r.step(ctx)
	for {
		select {
		case <-ctx.Done():
			r.leave(sess)
			return
		case <-sess.Done():
			r.lost(lease, "lease expired or etcd unreachable")
			return
		case resp, ok := <-kas:
			if !ok {
				r.lost(lease, "keepalive ended")
				return
			}
			if resp != nil && resp.TTL > 0 {
				r.mu.Lock()
				r.lastKA = time.Now()
				r.mu.Unlock()
			}
			continue
		case _, ok := <-memberEvents:
			if !ok {
				memberEvents = nil
			}
		case _, ok := <-ownerEvents:
			if !ok {
				ownerEvents = nil
			}
		case _, ok := <-genEvents:
			if !ok {
				genEvents = nil
			}
		case <-tick.C:
			openWatches()
		case <-r.kick:
		}
		r.step(ctx)
	}
}

// lost forgets every ownership at once: the lease that held them is gone or
// about to be, and another replica may already hold them.
func (r *Replica) lost(lease clientv3.LeaseID, why string) {
	r.mu.Lock()
	n := len(r.owned)
	for h := range r.owned {
		r.observing[h] = true
	}
	r.owned = map[string]ownership{}
	r.assigned = map[string]bool{}
	r.lease = clientv3.NoLease
	r.state, r.message = StateEtcdUnavailable, why
	r.mu.Unlock()
	r.log.Warn("lost the lease; stopped acting", "lease", fmt.Sprintf("%x", int64(lease)), "hosts_dropped", n, "why", why)
	r.changed()
}

// leave is a clean stop: the lease is revoked, which deletes the member and
// owner keys, so the others take the hosts over without waiting for a TTL.
func (r *Replica) leave(sess *concurrency.Session) {
	r.flushStatus(context.Background())
	r.mu.Lock()
	r.owned = map[string]ownership{}
	r.lease = clientv3.NoLease
	r.state, r.message = StateJoining, "stopped"
	r.mu.Unlock()
	if err := sess.Close(); err != nil {
		r.log.Warn("revoke lease on stop", "err", err)
	}
}

func (r *Replica) putMemberIfChanged(ctx context.Context) error {
	r.mu.Lock()
	var published string
	for _, m := range r.members {
		if m.ID == r.cfg.ID && m.Lease == int64(r.lease) {
			published = m.Digest
		}
	}
	changed := published != r.digest
	r.mu.Unlock()
	if !changed {
		return nil
	}
	return r.putMember(ctx, false)
}
