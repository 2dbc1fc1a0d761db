package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// step reads the fleet, agrees on the generation and brings this replica's
// ownerships in line with the assignment.
func (r *Replica) step(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, r.cfg.TTL-r.cfg.Margin)
	defer cancel()
	if err := r.putMemberIfChanged(cctx); err != nil {
		r.noteErr(err)
		return
	}
	members, gen, err := r.readFleet(cctx)
	if err != nil {
		r.noteErr(err)
		return
	}
	r.mu.Lock()
	mine := r.digest
	r.mu.Unlock()
	agreed, err := r.agree(cctx, members, gen, mine)
	if err != nil {
		r.noteErr(err)
		return
	}
	var ring []string
	for _, m := range members {
		if m.Digest == agreed && m.Digest != "" {
			ring = append(ring, m.ID)
		}
	}
	r.mu.Lock()
	r.members, r.agreed = members, agreed
	hosts := r.hosts
	r.mu.Unlock()
	if mine == "" {
		r.setState(StateJoining, "manifests not loaded yet")
		r.releaseAll()
		return
	}
	if mine != agreed {
		r.setState(StateConfigOutOfSync, fmt.Sprintf("manifests digest %s differs from the fleet's agreed %s; acting on nothing until they match", mine, agreed))
		r.releaseAll()
		return
	}
	r.setState(StateActive, "")
	assign := Assign(hosts, ring, DefaultVirtualNodes, r.cfg.LoadFactor)
	want := map[string]bool{}
	for h, id := range assign {
		if id == r.cfg.ID {
			want[h] = true
		}
	}
	r.mu.Lock()
	r.assigned = want
	var release, claim []string
	for h := range r.owned {
		if !want[h] {
			release = append(release, h)
		}
	}
	for h := range want {
		if _, ok := r.owned[h]; !ok {
			claim = append(claim, h)
		}
	}
	r.mu.Unlock()
	sort.Strings(claim)
	changed := false
	for _, h := range release {
		r.release(h)
		changed = true
	}
	if len(claim) > 0 {
		n, err := r.claim(cctx, claim)
		if err != nil {
			r.noteErr(err)
		}
		changed = changed || n > 0
	}
	if changed {
		r.changed()
	}
}

func (r *Replica) readFleet(ctx context.Context) ([]Member, *Generation, error) {
	resp, err := r.cli.Txn(ctx).Then(
		clientv3.OpGet(r.k.replicas(), clientv3.WithPrefix()),
		clientv3.OpGet(r.k.generation()),
	).Commit()
	if err != nil {
		return nil, nil, fmt.Errorf("read members: %w", err)
	}
	var members []Member
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		var m Member
		if json.Unmarshal(kv.Value, &m) == nil {
			m.Lease = kv.Lease
			members = append(members, m)
		}
	}
	var gen *Generation
	if kvs := resp.Responses[1].GetResponseRange().Kvs; len(kvs) == 1 {
		gen = &Generation{}
		if err := json.Unmarshal(kvs[0].Value, gen); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", r.k.generation(), err)
		}
		gen.rev = kvs[0].ModRevision
	}
	return members, gen, nil
}

// agree settles the fleet's manifests generation. The first replica to
// publish one sets it (create-if-absent); it moves to a new digest only
// when every live replica has published that same digest. A replica whose
// copy differs meanwhile acts on nothing, so two generations are never
// applied at once.
func (r *Replica) agree(ctx context.Context, members []Member, gen *Generation, mine string) (string, error) {
	if mine == "" && gen == nil {
		return "", nil
	}
	if gen == nil {
		b, _ := json.Marshal(Generation{Digest: mine, By: r.cfg.ID, At: time.Now().UTC()})
		resp, err := r.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(r.k.generation()), "=", 0)).
			Then(clientv3.OpPut(r.k.generation(), string(b))).Else(clientv3.OpGet(r.k.generation())).Commit()
		if err != nil {
			return "", fmt.Errorf("set generation: %w", err)
		}
		if resp.Succeeded {
			r.log.Info("set the fleet's manifests generation", "digest", mine)
			return mine, nil
		}
		var g Generation
		if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) == 1 {
			_ = json.Unmarshal(kvs[0].Value, &g)
		}
		return g.Digest, nil
	}
	if gen.Digest == mine || mine == "" || len(members) == 0 {
		return gen.Digest, nil
	}
	for _, m := range members {
		if m.Digest != mine {
			return gen.Digest, nil
		}
	}
	b, _ := json.Marshal(Generation{Digest: mine, By: r.cfg.ID, At: time.Now().UTC()})
	resp, err := r.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(r.k.generation()), "=", gen.rev)).
		Then(clientv3.OpPut(r.k.generation(), string(b))).Commit()
	if err != nil {
		return "", fmt.Errorf("move generation: %w", err)
	}
	if resp.Succeeded {
		r.log.Info("every replica agrees on new manifests; generation moved", "from", gen.Digest, "to", mine)
	}
	return mine, nil
}
