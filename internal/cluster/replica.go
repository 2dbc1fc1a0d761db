package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
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
	releasing  map[string]int64       // host -> token of an ownership whose key is being deleted
	members    []Member
	pending    map[string]json.RawMessage // status not yet written
	statusKick chan struct{}

	outcomes outcomeCache // the rollout's outcomes, while WatchRollout runs
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

func (r *Replica) noteErr(err error) {
	r.log.Warn("etcd", "err", err)
}

// Client is the etcd client the replica uses.
func (r *Replica) Client() *clientv3.Client { return r.cli }
