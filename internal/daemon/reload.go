package daemon

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller"
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

	hosts := set.Hosts()
	onHost := controller.ResourcesByHost(hosts, set.Resources)
	digests := resourceDigests(set.Resources)
	desired := make(map[string]*desiredHost, len(hosts))
	targets := make([]status.Target, len(hosts))
	for i, h := range hosts {
		refs := make([]v1alpha1.ResourceRef, len(onHost[i]))
		for j, r := range onHost[i] {
			refs[j] = r.Ref()
		}
		desired[h.Metadata.Name] = &desiredHost{host: h, resources: onHost[i], generation: generation(h, onHost[i], digests)}
		targets[i] = status.Target{Name: h.Metadata.Name, Address: h.Spec.Address, Resources: refs}
	}
	var resources []status.Resource
	for _, r := range set.Resources {
		if r.Kind != v1alpha1.HostKind.Kind {
			resources = append(resources, status.Resource{Ref: r.Ref(), Generation: digests[r].spec})
		}
	}

	d.mu.Lock()
	old, first := d.desired, !d.loaded
	// The first load converges every host at once: there is no previous
	// generation to keep.
	var ro *rollout
	if !first {
		ro, err = newRollout(set, hosts, desired, old, d.ro, now)
		if err != nil {
			d.mu.Unlock()
			d.log.Error("manifests invalid; keeping the last valid set", "dir", d.opts.Dir, "err", err.Error())
			d.status.SetCondition(v1alpha1.Condition{Type: v1alpha1.ConditionConfigValid,
				Status: v1alpha1.ConditionFalse, Reason: "Invalid", Message: err.Error()}, now)
			d.m.configValid.Set(0)
			return
		}
	}
	prevRO := d.ro
	d.set, d.desired, d.loaded = set, desired, true
	admitted := map[string]bool{}
	if ro != nil || prevRO != nil {
		for _, n := range d.startRolloutLocked(ro, now) {
			admitted[n] = true
		}
	}
	d.mu.Unlock()
	d.replicaManifests(set)

	removed := d.status.SetManifests(targets, resources, now)
	d.status.SetCondition(v1alpha1.Condition{Type: v1alpha1.ConditionConfigValid,
		Status: v1alpha1.ConditionTrue, Reason: "Loaded", Message: fmt.Sprintf("%d resources", len(set.Resources))}, now)
	d.m.configValid.Set(1)
	for _, name := range removed {
		d.log.Info("host left the manifests; no longer managed", "host", name)
		d.q.Forget(name)
		d.pool.Drop(name)
	}
	for _, h := range hosts {
		name := h.Metadata.Name
		gen := desired[name].generation
		// A host kept on its previous generation waits for its batch; one
		// the last rollout kept and this one does not is released now.
		released := prevRO.held(name) != nil && ro.held(name) == nil
		if prev := old[name]; (prev != nil && prev.generation == gen && !released && !admitted[name]) || (ro.held(name) != nil && !admitted[name]) {
			continue
		}
		switch {
		case !first:
			d.log.Info("desired state changed", "host", name, "generation", gen)
			d.q.Add(name, priorityChange)
		case d.restored[name]:
			d.queueRestored(name, gen, now)
		default:
			d.q.Add(name, priorityResync)
		}
	}
	d.updateReady(now)
	d.log.Info("manifests loaded", "hosts", len(hosts), "resources", len(set.Resources), "took", time.Since(start).Round(time.Millisecond))
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
// their backoff: resync is for drift on healthy hosts.
func (d *Daemon) resync() {
	d.mu.Lock()
	names := make([]string, 0, len(d.desired))
	for name := range d.desired {
		names = append(names, name)
	}
	d.mu.Unlock()
	now := time.Now()
	for _, name := range names {
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
func resourceDigests(resources []*v1alpha1.Resource) map[*v1alpha1.Resource]digest {
	out := make(map[*v1alpha1.Resource]digest, len(resources))
	for _, r := range resources {
		b, _ := json.Marshal(r.Spec)
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
		out[r] = digest{spec: hex.EncodeToString(spec[:])[:16], full: hex.EncodeToString(full.Sum(nil))}
	}
	return out
}

// generation hashes what a host should look like: its own spec, and the
// desired state of every resource targeting it, including the content of
// files a File takes its source from.
func generation(h *v1alpha1.Host, resources []*v1alpha1.Resource, digests map[*v1alpha1.Resource]digest) string {
	hash := sha256.New()
	_ = json.NewEncoder(hash).Encode(h.Spec)
	for _, r := range resources {
		hash.Write([]byte(digests[r].full))
	}
	return hex.EncodeToString(hash.Sum(nil))[:16]
}
