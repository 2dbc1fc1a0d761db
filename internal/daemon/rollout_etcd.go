package daemon

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/optimus-cm/optimus/internal/cluster"
)

// etcdStore keeps the rollout state in etcd, shared by every replica.
type etcdStore struct{ r *cluster.Replica }

func (s etcdStore) durable() bool { return true }

func (s etcdStore) load(ctx context.Context) (*fleetRecord, map[string]outcomeRecord, int64, error) {
	state, rev, raw, err := s.r.RolloutState(ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	var rec *fleetRecord
	if state != nil {
		rec = &fleetRecord{}
		if err := json.Unmarshal(state, rec); err != nil {
			return nil, nil, 0, fmt.Errorf("rollout state in etcd: %w", err)
		}
	}
	outcomes := make(map[string]outcomeRecord, len(raw))
	for host, b := range raw {
		var o outcomeRecord
		if json.Unmarshal(b, &o) == nil {
			outcomes[host] = o
		}
	}
	return rec, outcomes, rev, nil
}

func (s etcdStore) swap(ctx context.Context, rev int64, rec *fleetRecord) (bool, error) {
	return s.r.SwapRolloutState(ctx, rev, encodeJSON(rec))
}

func (s etcdStore) putOutcome(ctx context.Context, hold *cluster.Hold, _ string, o outcomeRecord) error {
	if hold == nil {
		return fmt.Errorf("no hold on the host")
	}
	return hold.PutOutcome(ctx, encodeJSON(o))
}

func (s etcdStore) putSnapshot(ctx context.Context, digest string, data []byte) error {
	return s.r.PutSnapshot(ctx, digest, data)
}

func (s etcdStore) snapshot(ctx context.Context, digest string) ([]byte, error) {
	return s.r.Snapshot(ctx, digest)
}

func (s etcdStore) keepSnapshots(ctx context.Context, keep map[string]bool) error {
	return s.r.KeepSnapshots(ctx, keep)
}
