package daemon

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/history"
	"github.com/optimus-cm/optimus/internal/manifest"
	"github.com/optimus-cm/optimus/internal/status"
)

// reload loads the manifests; an invalid set is reported and the last valid
// one keeps running. Hosts whose desired state changed are queued: ahead of
// resync work once the daemon runs, in the background on the first load.
func (d *Daemon) reload() {
	// Resync work waits for the reload and for the changes it brings.
	d.q.Hold()
	defer d.q.Release()
	start := time.Now()
	l := &manifest.Loader{Scheme: d.opts.Scheme, Edges: d.opts.Registry.Dependencies, Declare: d.opts.Declare,
		CheckHost: d.opts.Registry.CheckHost}
	set, err := l.Load(d.opts.Dir)
	now := time.Now()
	if err != nil {
		d.log.Error("manifests invalid; keeping the last valid set", "dir", d.opts.Dir, "err", err.Error())
		d.status.SetCondition(v1alpha1.Condition{Type: v1alpha1.ConditionConfigValid,
			Status: v1alpha1.ConditionFalse, Reason: "Invalid", Message: err.Error()}, now)
		d.m.configValid.Set(0)
		return
	}
	for _, w := range set.Warnings {
		d.log.Warn(w)
	}

	hosts, desired, digests := desiredOf(set, d.opts.Dir)
	targets := make([]status.Target, len(hosts))
	for i, h := range hosts {
		want := desired[h.Metadata.Name]
		refs := make([]v1alpha1.ResourceRef, len(want.resources))
		for j, r := range want.resources {
			refs[j] = r.Ref()
		}
		targets[i] = status.Target{Name: h.Metadata.Name, Address: h.Spec.Address, Resources: refs}
	}
	var resources []status.Resource
	for _, r := range set.Resources {
		if r.Kind != v1alpha1.HostKind.Kind {
			resources = append(resources, status.Resource{Ref: r.Ref(), Generation: digests[r].spec})
		}
	}
	digest := history.Digest(set)
	snap, err := snapshotDir(d.opts.Dir)
	if err != nil && d.store.durable() {
		d.log.Warn("manifests not kept for rollouts: hosts held to this generation are not reconciled after a restart", "err", err)
	}
	d.cacheSnapshot(digest, desired, nil)

	d.mu.Lock()
	old, first := d.desired, !d.loaded
	prevSet, prevDigest, prevSnap := d.set, d.digest, d.snapData
	effBefore := map[string]*desiredHost{}
	for name := range old {
		effBefore[name] = d.effectiveLocked(name)
	}
	d.set, d.desired, d.digest, d.snapData, d.loaded = set, desired, digest, snap, true
	queue := d.followLocked(now)
	d.mu.Unlock()
	if d.opts.Replica == nil {
		// Alone, the manifests are the fleet's as soon as they load; a
		// state that cannot be stored keeps the last valid set running.
		if err := d.moveTo(d.bg); err != nil {
			d.mu.Lock()
			d.set, d.desired, d.digest, d.snapData = prevSet, old, prevDigest, prevSnap
			d.loaded = !first
			d.followLocked(now)
			d.mu.Unlock()
			d.log.Error("rollout state not stored; keeping the last valid set", "err", err.Error())
			d.status.SetCondition(v1alpha1.Condition{Type: v1alpha1.ConditionConfigValid,
				Status: v1alpha1.ConditionFalse, Reason: "StateNotStored", Message: err.Error()}, now)
			d.m.configValid.Set(0)
			return
		}
	}
	d.replicaManifests(set)
	d.replicaMoveTo()

	removed := d.status.SetManifests(targets, resources, now)
	d.status.SetCondition(v1alpha1.Condition{Type: v1alpha1.ConditionConfigValid,
		Status: v1alpha1.ConditionTrue, Reason: "Loaded", Message: fmt.Sprintf("%d resources", len(set.Resources))}, now)
	d.m.configValid.Set(1)
	for _, name := range removed {
		d.log.Info("host left the manifests; no longer managed", "host", name)
		d.q.Forget(name)
		d.pool.Drop(name)
	}
	d.mu.Lock()
	effAfter := map[string]*desiredHost{}
	for _, h := range hosts {
		effAfter[h.Metadata.Name] = d.effectiveLocked(h.Metadata.Name)
	}
	d.mu.Unlock()
	for _, h := range hosts {
		name := h.Metadata.Name
		before, after := effBefore[name], effAfter[name]
		if !first && before != nil && after != nil && before.generation == after.generation {
			continue
		}
		switch {
		case !first:
			if after != nil {
				d.log.Info("desired state changed", "host", name, "generation", after.generation)
			}
			d.q.Add(name, priorityChange)
		case d.restored[name] && after != nil:
			d.queueRestored(name, after.generation, now)
		default:
			d.q.Add(name, priorityResync)
		}
	}
	for _, name := range queue {
		if desired[name] != nil {
			d.q.Add(name, priorityChange)
		}
	}
	d.updateReady(now)
	d.log.Info("manifests loaded", "hosts", len(hosts), "resources", len(set.Resources), "took", time.Since(start).Round(time.Millisecond))
}

// effectiveLocked is what a host is reconciled to now: what a rollout keeps
// it on, or the current manifests; nil when it is not reconciled at all
// (held to manifests that cannot be read back, or not in step with the
// fleet's stored state).
func (d *Daemon) effectiveLocked(name string) *desiredHost {
	if !d.inStepLocked() {
		if d.loaded {
			d.waiting[name] = true
		}
		return nil
	}
	if held, pending := d.ro.held(name); pending {
		return held
	}
	return d.desired[name]
}

// desiredOf computes what each host of a set should look like, once per
// load, and the digest of each resource; root is the directory the set was
// loaded from.
func desiredOf(set *manifest.Set, root string) ([]*v1alpha1.Host, map[string]*desiredHost, map[*v1alpha1.Resource]digest) {
	hosts := set.Hosts()
	onHost := controller.ResourcesByHost(hosts, set.Resources)
	prefix := rootPrefix(root)
	digests := resourceDigests(set.Resources, prefix)
	desired := make(map[string]*desiredHost, len(hosts))
	for i, h := range hosts {
		desired[h.Metadata.Name] = &desiredHost{host: h, resources: onHost[i], generation: generation(h, onHost[i], digests, prefix)}
	}
	return hosts, desired, digests
}

// queueRestored queues a host known from the saved status on the first
// load: a host still within its backoff waits for its saved next retry,
// unless its desired state changed since it last failed; the others are
// queued for the first pass.
func (d *Daemon) queueRestored(name, gen string, now time.Time) {
	h, ok := d.status.Host(name)
	if ok && h.Status.NextRetry != nil && now.Before(*h.Status.NextRetry) {
		if c := v1alpha1.FindCondition(h.Status.Conditions, v1alpha1.ConditionReady); c != nil && c.ObservedGeneration == gen {
			d.log.Info("keeping the saved backoff", "host", name, "retry_at", h.Status.NextRetry.Format(time.RFC3339))
			d.q.AddAfter(name, h.Status.NextRetry.Sub(now))
			// Its outcome is known: the first pass does not wait for it.
			d.status.UpdateHost(name, now, func(h *status.Host) { h.Passed = true })
			return
		}
	}
	d.q.Add(name, priorityResync)
}

// resync queues every host for drift correction, except those waiting for
// their backoff: resync is for drift on healthy hosts. Among replicas it
// queues the hosts this replica owns or still observes: the others are
// their owners' (a host it gains is queued when it gains it), and at
// 10,000 hosts every replica queued the whole fleet to drop two thirds.
func (d *Daemon) resync() {
	d.mu.Lock()
	names := make([]string, 0, len(d.desired))
	for name := range d.desired {
		names = append(names, name)
	}
	d.mu.Unlock()
	now := time.Now()
	r := d.opts.Replica
	for _, name := range names {
		if r != nil && !r.Owns(name) && !r.Observes(name) {
			continue
		}
		if h, ok := d.status.Host(name); ok && h.Status.NextRetry != nil && now.Before(*h.Status.NextRetry) {
			continue
		}
		d.q.Add(name, priorityResync)
	}
}

// digest identifies a resource's desired state: its spec, and for the
// generation also the content of the files it reads.
type digest struct {
	spec, full string
}

// resourceDigests hashes each resource once per load, so that a host's
// generation costs one short hash per resource targeting it.
func resourceDigests(resources []*v1alpha1.Resource, prefix []byte) map[*v1alpha1.Resource]digest {
	out := make(map[*v1alpha1.Resource]digest, len(resources))
	for _, r := range resources {
		out[r] = digestOf(r, prefix)
	}
	return out
}

func digestOf(r *v1alpha1.Resource, prefix []byte) digest {
	b := rootless(r.Spec, prefix)
	spec := sha256.Sum256(b)
	full := sha256.New()
	full.Write([]byte(r.ID()))
	full.Write(spec[:])
	// The local files a kind declares as inputs (optimus:"path,input")
	// are desired state too.
	for _, p := range v1alpha1.FileInputs(r.Spec) {
		if b, err := os.ReadFile(p); err == nil {
			full.Write(b)
		}
	}
	return digest{spec: hex.EncodeToString(spec[:])[:16], full: hex.EncodeToString(full.Sum(nil))}
}

// generation hashes what a host should look like: its own spec, and the
// desired state of every resource targeting it, including the content of
// files a File takes its source from.
func generation(h *v1alpha1.Host, resources []*v1alpha1.Resource, digests map[*v1alpha1.Resource]digest, prefix []byte) string {
	hash := sha256.New()
	hash.Write(rootless(h.Spec, prefix))
	for _, r := range resources {
		d, ok := digests[r]
		if !ok {
			// The host's own variant of a resource that reads variables
			// (${vars.x}): its spec is the host's alone.
			d = digestOf(r, prefix)
		}
		hash.Write([]byte(d.full))
	}
	return hex.EncodeToString(hash.Sum(nil))[:16]
}

// rootless encodes a spec with the manifest directory (prefix, from
// rootPrefix) left out of the paths the loader resolved: the same manifests
// kept in a snapshot, loaded from another directory, are the same
// generation.
func rootless(spec any, prefix []byte) []byte {
	b, _ := json.Marshal(spec)
	if len(prefix) == 0 {
		return b
	}
	return bytes.ReplaceAll(b, prefix, []byte("./"))
}

// rootPrefix is the manifest directory root as it appears in a spec's JSON
// (absolute, with a trailing separator); nil for no directory. It is
// computed once per load, not once per resource.
func rootPrefix(root string) []byte {
	abs, err := filepath.Abs(root)
	if root == "" || err != nil {
		return nil
	}
	q, _ := json.Marshal(abs + string(filepath.Separator))
	return q[1 : len(q)-1]
}
