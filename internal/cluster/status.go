package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// PublishStatus queues a host's status for the next batched write. Only
// the host's owner writes it: each batch is one transaction guarded by the
// owner keys of all its hosts, as acts are.
func (r *Replica) PublishStatus(host string, status any) error {
	b, err := json.Marshal(status)
	if err != nil {
		return fmt.Errorf("status of %s: %w", host, err)
	}
	r.mu.Lock()
	r.pending[host] = b
	r.mu.Unlock()
	select {
	case r.statusKick <- struct{}{}:
	default:
	}
	return nil
}

func (r *Replica) statusLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.statusKick:
		}
		// Debounce: a burst of reconciles becomes one write per batch.
		select {
		case <-ctx.Done():
			return
		case <-time.After(r.cfg.StatusDebounce):
		}
		r.flushStatus(ctx)
	}
}

// flushStatus writes pending status, StatusBatch hosts per transaction.
// A batch whose guard fails (a host changed hands) is retried host by host
// so the hosts still owned are written and the others dropped.
func (r *Replica) flushStatus(ctx context.Context) {
	r.mu.Lock()
	pending := r.pending
	r.pending = map[string]json.RawMessage{}
	owned := map[string]ownership{}
	for h := range pending {
		if o, ok := r.owned[h]; ok {
			owned[h] = o
		}
	}
	r.mu.Unlock()
	var hosts []string
	for h := range owned {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	now := time.Now().UTC()
	for start := 0; start < len(hosts); start += r.cfg.StatusBatch {
		batch := hosts[start:min(start+r.cfg.StatusBatch, len(hosts))]
		if ok, err := r.writeStatus(ctx, batch, owned, pending, now); err != nil {
			r.requeue(batch, pending)
			r.log.Warn("write status", "hosts", len(batch), "err", err)
			continue
		} else if ok {
			continue
		}
		for _, h := range batch {
			if _, err := r.writeStatus(ctx, []string{h}, owned, pending, now); err != nil {
				r.requeue([]string{h}, pending)
			}
		}
	}
}

func (r *Replica) requeue(hosts []string, pending map[string]json.RawMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range hosts {
		if _, newer := r.pending[h]; !newer {
			r.pending[h] = pending[h]
		}
	}
}

func (r *Replica) writeStatus(ctx context.Context, hosts []string, owned map[string]ownership, pending map[string]json.RawMessage, now time.Time) (bool, error) {
	var cmps []clientv3.Cmp
	var ops []clientv3.Op
	for _, h := range hosts {
		o := owned[h]
		key := r.k.owner(h)
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", o.token),
			clientv3.Compare(clientv3.LeaseValue(key), "=", o.lease))
		b, _ := json.Marshal(HostRecord{Host: h, Replica: r.cfg.ID, Token: o.token, At: now, Status: pending[h]})
		ops = append(ops, clientv3.OpPut(r.k.hostStatus(h), string(b)))
	}
	cctx, cancel := context.WithTimeout(ctx, r.cfg.TTL)
	defer cancel()
	resp, err := r.cli.Txn(cctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return false, err
	}
	return resp.Succeeded, nil
}

// Fleet is the whole fleet as etcd holds it: what any replica serves.
type Fleet struct {
	Members    []Member
	Generation *Generation
	// Owners maps a host to the replica that owns it now.
	Owners map[string]string
	// Status maps a host to the status its owner last wrote.
	Status map[string]HostRecord
	// LeaseTTL maps a replica ID to the seconds left on its lease.
	LeaseTTL map[string]int64
}

// ReadFleet reads members, owners, generation and status in one
// consistent transaction (one revision).
func ReadFleet(ctx context.Context, cli *clientv3.Client, prefix string) (*Fleet, error) {
	k := keys{cleanPrefix(prefix)}
	resp, err := cli.Txn(ctx).Then(
		clientv3.OpGet(k.replicas(), clientv3.WithPrefix()),
		clientv3.OpGet(k.owners(), clientv3.WithPrefix()),
		clientv3.OpGet(k.generation()),
		clientv3.OpGet(k.status(), clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return nil, fmt.Errorf("read fleet from etcd: %w", err)
	}
	f := &Fleet{Owners: map[string]string{}, Status: map[string]HostRecord{}, LeaseTTL: map[string]int64{}}
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		var m Member
		if json.Unmarshal(kv.Value, &m) == nil {
			m.Lease = kv.Lease
			f.Members = append(f.Members, m)
		}
	}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		f.Owners[strings.TrimPrefix(string(kv.Key), k.owners())] = string(kv.Value)
	}
	if kvs := resp.Responses[2].GetResponseRange().Kvs; len(kvs) == 1 {
		f.Generation = &Generation{}
		_ = json.Unmarshal(kvs[0].Value, f.Generation)
	}
	for _, kv := range resp.Responses[3].GetResponseRange().Kvs {
		var hr HostRecord
		if json.Unmarshal(kv.Value, &hr) == nil {
			f.Status[hr.Host] = hr
		}
	}
	for _, m := range f.Members {
		if ttl, err := cli.TimeToLive(ctx, clientv3.LeaseID(m.Lease)); err == nil {
			f.LeaseTTL[m.ID] = ttl.TTL
		}
	}
	return f, nil
}
