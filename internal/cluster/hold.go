package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Hold is the right to act on one host for the length of one reconcile.
// While it is held the replica does not release the host; every act is
// checked with Fence first.
type Hold struct {
	r     *Replica
	host  string
	own   ownership
	lock  *sync.Mutex
	freed bool
}

// Acquire returns a Hold on host, or a FenceError when this replica does
// not own it now. Release the Hold when the reconcile ends.
func (r *Replica) Acquire(host string) (*Hold, error) {
	lock := r.actingLock(host)
	lock.Lock()
	r.mu.Lock()
	o, ok := r.owned[host]
	state, fresh := r.state, r.leaseFreshLocked(time.Now())
	r.mu.Unlock()
	switch {
	case !ok:
		lock.Unlock()
		return nil, &FenceError{Host: host, Reason: "not owned by this replica"}
	case state != StateActive:
		lock.Unlock()
		return nil, &FenceError{Host: host, Reason: "replica is " + string(state)}
	case !fresh:
		lock.Unlock()
		return nil, &FenceError{Host: host, Reason: "lease expiring: etcd has not confirmed it recently"}
	}
	return &Hold{r: r, host: host, own: o, lock: lock}, nil
}

// Token is the fencing token: the revision of the ownership.
func (h *Hold) Token() int64 { return h.own.token }

// Release ends the hold.
func (h *Hold) Release() {
	if !h.freed {
		h.freed = true
		h.lock.Unlock()
	}
}

// Fence must pass right before every act on the host. It refuses when the
// replica's lease is not fresh (so a paused or partitioned replica stops on
// its own, before etcd can expire its lease), and otherwise asks etcd, in a
// transaction, whether the owner key still carries this ownership's lease
// and revision. ops, when given, are applied in the same transaction.
func (h *Hold) Fence(ctx context.Context, ops ...clientv3.Op) error {
	if err := h.local(); err != nil {
		return err
	}
	key := h.r.k.owner(h.host)
	cctx, cancel := context.WithTimeout(ctx, h.r.cfg.Margin)
	defer cancel()
	resp, err := h.r.cli.Txn(cctx).If(
		clientv3.Compare(clientv3.ModRevision(key), "=", h.own.token),
		clientv3.Compare(clientv3.LeaseValue(key), "=", h.own.lease),
	).Then(ops...).Commit()
	if err != nil {
		return &FenceError{Host: h.host, Reason: "etcd unavailable", Err: err}
	}
	if !resp.Succeeded {
		h.r.mu.Lock()
		if o, ok := h.r.owned[h.host]; ok && o == h.own {
			delete(h.r.owned, h.host)
		}
		h.r.mu.Unlock()
		return &FenceError{Host: h.host, Reason: fmt.Sprintf("ownership (token %d) is gone", h.own.token)}
	}
	// The transaction may have waited; a pause during it counts too.
	return h.local()
}

func (h *Hold) local() error {
	r := h.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if o, ok := r.owned[h.host]; !ok || o != h.own {
		return &FenceError{Host: h.host, Reason: "ownership lost"}
	}
	if r.state != StateActive {
		return &FenceError{Host: h.host, Reason: "replica is " + string(r.state)}
	}
	if !r.leaseFreshLocked(time.Now()) {
		return &FenceError{Host: h.host, Reason: fmt.Sprintf("lease expiring: no keepalive confirmed for %s (TTL %s, margin %s)",
			time.Since(r.lastKA).Round(time.Millisecond), r.cfg.TTL, r.cfg.Margin)}
	}
	return nil
}
