package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sort"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// State is what a replica may do right now.
type State string

const (
	// StateJoining: no lease yet (starting, or after losing one).
	StateJoining State = "Joining"
	// StateActive: holds a live lease and the agreed manifests; acts on the
	// hosts it owns.
	StateActive State = "Active"
	// StateEtcdUnavailable: etcd has not answered for long enough that the
	// lease may have expired; the replica observes but does not act.
	StateEtcdUnavailable State = "EtcdUnavailable"
	// StateConfigOutOfSync: the replica's manifests digest differs from the
	// agreed generation; it acts on nothing.
	StateConfigOutOfSync State = "ConfigOutOfSync"
)

// Config configures a Replica. Zero values take the defaults named.
type Config struct {
	Client *clientv3.Client
	// Prefix holds every key of the fleet. Default /optimus.
	Prefix string
	// ID names the replica; unique among live replicas. Default hostname-pid.
	ID string
	// TTL of the replica's lease (whole seconds). Default 10s. A replica
	// that stops is replaced within about TTL.
	TTL time.Duration
	// Margin: a replica stops acting once TTL-Margin has passed since its
	// last confirmed keepalive, so that it stops before etcd can expire
	// its lease and give its hosts to another replica. Default TTL/3.
	Margin time.Duration
	// LoadFactor is c in the load bound ceil(c × hosts / replicas). Default 1.25.
	LoadFactor float64
	// StatusBatch is how many hosts one status transaction carries, and
	// StatusDebounce how long status changes gather before a write.
	// Defaults 64 and 500ms.
	StatusBatch    int
	StatusDebounce time.Duration
	// Addr is published so that others can find this replica's status API.
	Addr   string
	Logger *slog.Logger
}

func (c *Config) defaults() {
	c.Prefix = cleanPrefix(c.Prefix)
	if c.ID == "" {
		h, _ := os.Hostname()
		c.ID = fmt.Sprintf("%s-%d", h, os.Getpid())
	}
	if c.TTL <= 0 {
		c.TTL = 10 * time.Second
	}
	if c.TTL < 2*time.Second {
		c.TTL = 2 * time.Second // etcd's own minimum on a fast cluster
	}
	if c.Margin <= 0 || c.Margin >= c.TTL {
		c.Margin = c.TTL / 3
	}
	if c.LoadFactor < 1 {
		c.LoadFactor = DefaultLoadFactor
	}
	if c.StatusBatch <= 0 {
		c.StatusBatch = 64
	}
	if c.StatusDebounce <= 0 {
		c.StatusDebounce = 500 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// ownership is a host this replica holds: the owner key's mod revision is
// the fencing token.
type ownership struct {
	token int64
	lease clientv3.LeaseID
}

// Replica is one controller replica's membership in the fleet.
type Replica struct {
	cfg     Config
	cli     *clientv3.Client
	k       keys
	started time.Time
	log     *slog.Logger

	kick    chan struct{}
	changes chan struct{}

	mu         sync.Mutex
	state      State
	message    string
	lease      clientv3.LeaseID
	since      time.Time
	lastKA     time.Time // last keepalive etcd confirmed
	digest     string
	agreed     string
	hosts      []string
	assigned   map[string]bool
	owned      map[string]ownership
	observing  map[string]bool        // owned when etcd was lost: observed, not acted on
	acting     map[string]*sync.Mutex // held while a host is acted on
	members    []Member
	pending    map[string]json.RawMessage // status not yet written
	statusKick chan struct{}
}

// New checks the configuration; Run does the work.
func New(cfg Config) (*Replica, error) {
	cfg.defaults()
	if cfg.Client == nil {
		return nil, errors.New("cluster: Client is required")
	}
	return &Replica{cfg: cfg, cli: cfg.Client, k: keys{cfg.Prefix}, started: time.Now(), log: cfg.Logger.With("replica", cfg.ID),
		kick: make(chan struct{}, 1), changes: make(chan struct{}, 1), statusKick: make(chan struct{}, 1), state: StateJoining,
		message: "waiting for a lease", assigned: map[string]bool{}, owned: map[string]ownership{}, observing: map[string]bool{},
		acting: map[string]*sync.Mutex{}, pending: map[string]json.RawMessage{}}, nil
}

// ID is the replica's name.
func (r *Replica) ID() string { return r.cfg.ID }

// Prefix is the key prefix of the fleet.
func (r *Replica) Prefix() string { return r.cfg.Prefix }

// TTL is the lease TTL.
func (r *Replica) TTL() time.Duration { return r.cfg.TTL }

// SetDigest publishes the digest of this replica's manifests.
func (r *Replica) SetDigest(d string) {
	r.mu.Lock()
	r.digest = d
	r.mu.Unlock()
	r.poke()
}

// SetHosts sets the hosts of the manifests, among which hosts are assigned.
func (r *Replica) SetHosts(hosts []string) {
	hs := append([]string(nil), hosts...)
	sort.Strings(hs)
	r.mu.Lock()
	r.hosts = hs
	r.mu.Unlock()
	r.poke()
}

// Changes signals (coalesced) that the owned hosts or the state changed.
func (r *Replica) Changes() <-chan struct{} { return r.changes }

func (r *Replica) changed() {
	select {
	case r.changes <- struct{}{}:
	default:
	}
}

func (r *Replica) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Condition reports the replica's state and a message that says why
// (both digests when out of sync).
func (r *Replica) Condition() (State, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state == StateActive && !r.leaseFreshLocked(time.Now()) {
		return StateEtcdUnavailable, fmt.Sprintf("no keepalive confirmed for %s (TTL %s)", time.Since(r.lastKA).Round(time.Millisecond), r.cfg.TTL)
	}
	return r.state, r.message
}

// Owned lists the hosts this replica holds and may act on now.
func (r *Replica) Owned() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var hs []string
	for h := range r.owned {
		hs = append(hs, h)
	}
	sort.Strings(hs)
	return hs
}

// Owns says whether the replica holds host and may act on it now.
func (r *Replica) Owns(host string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.owned[host]
	return ok && r.state == StateActive && r.leaseFreshLocked(time.Now())
}

// Observes says whether host was this replica's when it lost etcd: it may
// not act on it, but keeps observing it until it rejoins, so that its
// status still shows drift.
func (r *Replica) Observes(host string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.observing[host] {
		return true
	}
	_, owned := r.owned[host]
	return owned && !r.leaseFreshLocked(time.Now())
}

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

func (r *Replica) setState(s State, msg string) {
	r.mu.Lock()
	changed := r.state != s || r.message != msg
	r.state, r.message = s, msg
	r.mu.Unlock()
	if changed {
		r.log.Info("replica state", "state", string(s), "message", msg)
		r.changed()
	}
}

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

func (r *Replica) noteErr(err error) {
	r.log.Warn("etcd", "err", err)
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
	r.mu.Unlock()
	if !ok {
		return
	}
	lock := r.actingLock(host)
	go func() {
		lock.Lock()
		defer lock.Unlock()
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

// Client is the etcd client the replica uses.
func (r *Replica) Client() *clientv3.Client { return r.cli }
