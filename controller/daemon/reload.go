package daemon

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/manifest"
)

// reload loads the manifests; an invalid set is reported and the last valid
// one keeps running. Hosts whose desired state changed are queued.
func (d *Daemon) reload() {
	l := &manifest.Loader{Scheme: d.opts.Scheme, Edges: d.opts.Registry.Dependencies, Declare: d.opts.Declare}
	set, err := l.Load(d.opts.Dir)
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	defer d.saveLocked()
	if err != nil {
		d.log.Error("manifests invalid; keeping the last valid set", "dir", d.opts.Dir, "err", err.Error())
		d.conditions = v1alpha1.SetCondition(d.conditions, v1alpha1.Condition{Type: v1alpha1.ConditionConfigValid,
			Status: v1alpha1.ConditionFalse, Reason: "Invalid", Message: err.Error()}, now)
		d.m.configValid.Set(0)
		return
	}
	for _, w := range set.Warnings {
		d.log.Warn(w)
	}
	d.conditions = v1alpha1.SetCondition(d.conditions, v1alpha1.Condition{Type: v1alpha1.ConditionConfigValid,
		Status: v1alpha1.ConditionTrue, Reason: "Loaded", Message: fmt.Sprintf("%d resources", len(set.Resources))}, now)
	d.m.configValid.Set(1)
	d.set = set
	present := map[string]bool{}
	for _, h := range set.Hosts() {
		name := h.Metadata.Name
		present[name] = true
		gen := generation(h, set.ForHost(h))
		if d.gens[name] != gen {
			d.gens[name] = gen
			d.log.Info("desired state changed", "host", name, "generation", gen)
			d.q.Add(name)
		}
		if d.hosts[name] == nil {
			d.hosts[name] = &v1alpha1.HostStatus{Name: name}
		}
		d.hosts[name].Address = h.Spec.Address
		d.hosts[name].Resources = len(set.ForHost(h))
	}
	for name := range d.hosts {
		if !present[name] {
			d.log.Info("host left the manifests; no longer managed", "host", name)
			delete(d.hosts, name)
			delete(d.gens, name)
			delete(d.resOnHost, name)
			delete(d.passed, name)
			d.q.Forget(name)
			d.pool.Drop(name)
		}
	}
	d.updateReadyLocked(now)
}

// generation hashes what a host should look like: its own spec, and the
// spec of every resource targeting it, including the content of files a
// File takes its source from.
func generation(h *v1alpha1.Host, resources []*v1alpha1.Resource) string {
	hash := sha256.New()
	enc := json.NewEncoder(hash)
	_ = enc.Encode(h.Spec)
	for _, r := range resources {
		_ = enc.Encode(r.ID())
		_ = enc.Encode(r.Spec)
		if f, ok := r.Spec.(*v1alpha1.FileSpec); ok && f.Source != "" {
			if b, err := os.ReadFile(f.Source); err == nil {
				hash.Write(b)
			}
		}
	}
	return hex.EncodeToString(hash.Sum(nil))[:16]
}

func specGeneration(r *v1alpha1.Resource) string {
	b, _ := json.Marshal(r.Spec)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16]
}
