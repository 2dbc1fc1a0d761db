package cluster

import (
	"context"
	"fmt"
	"sort"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// The fleet's rollout, under the prefix:
//
//	PREFIX/rollout/state           the rollout record, changed by compare-and-swap
//	PREFIX/rollout/outcomes/HOST   a member's outcome, written by its owner, fenced
//	PREFIX/snapshots/DIGEST        number of chunks of a manifests snapshot
//	PREFIX/snapshots/DIGEST/NNNN   its chunks, written before the count
func (k keys) rolloutState() string          { return k.prefix + "/rollout/state" }
func (k keys) outcomes() string              { return k.prefix + "/rollout/outcomes/" }
func (k keys) outcome(host string) string    { return k.outcomes() + host }
func (k keys) snapshots() string             { return k.prefix + "/snapshots/" }
func (k keys) snapshot(digest string) string { return k.snapshots() + digest }

// snapshotChunk stays well under etcd's default request limit (1.5 MiB).
const snapshotChunk = 1 << 20

// RolloutState reads the rollout record (nil before the first), its
// revision (0 before the first) and every outcome. The record is read from
// etcd (a compare-and-swap needs its latest revision); the outcomes come
// from the cache WatchRollout keeps, and from etcd only while it has none:
// at thousands of hosts, reading every outcome again for each outcome
// recorded would be quadratic.
func (r *Replica) RolloutState(ctx context.Context) (state []byte, rev int64, outcomes map[string][]byte, err error) {
	if cached, ok := r.outcomes.copy(); ok {
		resp, err := r.cli.Get(ctx, r.k.rolloutState())
		if err != nil {
			return nil, 0, nil, fmt.Errorf("read rollout: %w", err)
		}
		if len(resp.Kvs) == 1 {
			state, rev = resp.Kvs[0].Value, resp.Kvs[0].ModRevision
		}
		return state, rev, cached, nil
	}
	r.outcomes.reads.Add(1)
	resp, err := r.cli.Txn(ctx).Then(
		clientv3.OpGet(r.k.rolloutState()),
		clientv3.OpGet(r.k.outcomes(), clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return nil, 0, nil, fmt.Errorf("read rollout: %w", err)
	}
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) == 1 {
		state, rev = kvs[0].Value, kvs[0].ModRevision
	}
	outcomes = map[string][]byte{}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		outcomes[strings.TrimPrefix(string(kv.Key), r.k.outcomes())] = kv.Value
	}
	return state, rev, outcomes, nil
}

// SwapRolloutState writes the rollout record if it is still at rev (0: if
// there is none yet). false: another replica changed it first.
func (r *Replica) SwapRolloutState(ctx context.Context, rev int64, state []byte) (bool, error) {
	key := r.k.rolloutState()
	cmp := clientv3.Compare(clientv3.ModRevision(key), "=", rev)
	if rev == 0 {
		cmp = clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
	}
	resp, err := r.cli.Txn(ctx).If(cmp).Then(clientv3.OpPut(key, string(state))).Commit()
	if err != nil {
		return false, fmt.Errorf("write rollout: %w", err)
	}
	return resp.Succeeded, nil
}

// PutOutcome records a member's rollout outcome, in the same transaction as
// the fencing check: a replica that lost the host records nothing.
func (h *Hold) PutOutcome(ctx context.Context, outcome []byte) error {
	return h.Fence(ctx, clientv3.OpPut(h.r.k.outcome(h.host), string(outcome)))
}

// PutSnapshot stores a manifests snapshot under its digest, unless it is
// there already. The chunks go first and the count last, so that a
// snapshot is either whole or absent.
func (r *Replica) PutSnapshot(ctx context.Context, digest string, data []byte) error {
	key := r.k.snapshot(digest)
	resp, err := r.cli.Get(ctx, key, clientv3.WithCountOnly())
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", digest, err)
	}
	if resp.Count > 0 {
		return nil
	}
	n := 0
	for at := 0; at < len(data) || n == 0; at += snapshotChunk {
		end := min(at+snapshotChunk, len(data))
		if _, err := r.cli.Put(ctx, fmt.Sprintf("%s/%04d", key, n), string(data[at:end])); err != nil {
			return fmt.Errorf("snapshot %s: %w", digest, err)
		}
		n++
	}
	if _, err := r.cli.Put(ctx, key, fmt.Sprint(n)); err != nil {
		return fmt.Errorf("snapshot %s: %w", digest, err)
	}
	return nil
}

// Snapshot reads a manifests snapshot.
func (r *Replica) Snapshot(ctx context.Context, digest string) ([]byte, error) {
	key := r.k.snapshot(digest)
	resp, err := r.cli.Get(ctx, key+"/", clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", digest, err)
	}
	count, err := r.cli.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", digest, err)
	}
	if len(count.Kvs) != 1 || fmt.Sprint(len(resp.Kvs)) != string(count.Kvs[0].Value) {
		return nil, fmt.Errorf("no whole snapshot of manifests %s in etcd", digest)
	}
	var out []byte
	for _, kv := range resp.Kvs {
		out = append(out, kv.Value...)
	}
	return out, nil
}

// KeepSnapshots deletes every snapshot but those in keep.
func (r *Replica) KeepSnapshots(ctx context.Context, keep map[string]bool) error {
	resp, err := r.cli.Get(ctx, r.k.snapshots(), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return err
	}
	gone := map[string]bool{}
	for _, kv := range resp.Kvs {
		d, _, _ := strings.Cut(strings.TrimPrefix(string(kv.Key), r.k.snapshots()), "/")
		if !keep[d] {
			gone[d] = true
		}
	}
	names := make([]string, 0, len(gone))
	for d := range gone {
		names = append(names, d)
	}
	sort.Strings(names)
	for _, d := range names {
		// The count first: a half-deleted snapshot reads as absent.
		if _, err := r.cli.Delete(ctx, r.k.snapshot(d)); err != nil {
			return err
		}
		if _, err := r.cli.Delete(ctx, r.k.snapshot(d)+"/", clientv3.WithPrefix()); err != nil {
			return err
		}
	}
	return nil
}

// Agreed is the manifests digest the fleet agreed on, as last read; ""
// before the first agreement.
func (r *Replica) Agreed() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.agreed
}
