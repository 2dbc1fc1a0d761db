package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/controller/web"
	"github.com/optimus-cm/optimus/history"
	"github.com/optimus-cm/optimus/manifest"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Options configure a Daemon. Zero values take the defaults named.
type Options struct {
	// Dir is the manifest directory to watch.
	Dir string
	// Scheme and Registry are the kinds the tool understands.
	Scheme   *v1alpha1.Scheme
	Registry *reconcilers.Registry
	// Declare, when set, adds desired state written in Go for each Host.
	Declare func(h *v1alpha1.Host) ([]*v1alpha1.Resource, error)
	// Resync re-observes every host this often to correct drift. Default 5m.
	Resync time.Duration
	// Listen is the HTTP address of the status page, /healthz, /readyz,
	// /metrics and the status API; empty serves nothing.
	Listen string
	// AuthTokenFile lists the bearer tokens required on every request but
	// /healthz and /readyz (see web.LoadTokens); required to listen on a
	// non-loopback address.
	AuthTokenFile string
	// StateDir keeps status.json across restarts; empty keeps nothing.
	StateDir string
	// MaxConcurrentHosts bounds hosts reconciled at once. Default 8.
	MaxConcurrentHosts int
	// MaxCycles bounds the cycles of one reconcile. Default 5.
	MaxCycles int
	// Debounce groups bursts of file events. Default 300ms.
	Debounce time.Duration
	// BackoffInitial and BackoffMax bound the retry delay of a failing
	// host, doubling from one to the other. Defaults 5s and 5m.
	BackoffInitial, BackoffMax time.Duration
	// ShutdownGrace bounds how long in-flight work may take after a stop
	// signal. Default 60s.
	ShutdownGrace time.Duration
	// Logger receives structured logs. Default: discard.
	Logger *slog.Logger
	// Dial opens host connections; default transport.Dial.
	Dial controller.DialFunc
	// Inventory, when set, keeps each host's inventory of the set (and
	// prunes with Inventory.Prune), as optimus apply does.
	Inventory *controller.Inventory
}

func (o *Options) defaults() {
	if o.Resync <= 0 {
		o.Resync = 5 * time.Minute
	}
	if o.MaxConcurrentHosts <= 0 {
		o.MaxConcurrentHosts = 8
	}
	if o.MaxCycles <= 0 {
		o.MaxCycles = 5
	}
	if o.Debounce <= 0 {
		o.Debounce = 300 * time.Millisecond
	}
	if o.BackoffInitial <= 0 {
		o.BackoffInitial = 5 * time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 5 * time.Minute
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = 60 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Daemon reconciles a manifest directory continuously.
type Daemon struct {
	opts Options
	log  *slog.Logger
	q    *queue
	pool *controller.Pool
	m    *metrics
	web  *webSource
	page *web.Server

	mu          sync.Mutex
	set         *manifest.Set // the last valid manifests
	gens        map[string]string
	conditions  []v1alpha1.Condition
	hosts       map[string]*v1alpha1.HostStatus
	resOnHost   map[string]map[v1alpha1.ResourceRef]v1alpha1.ResourceHostState
	passed      map[string]bool // hosts reconciled at least once since start
	ready       bool
	updatedAt   time.Time
	listener    net.Listener
	listenReady chan struct{}
	history     *history.Recorder
}

// New checks the options and returns a daemon ready to Run.
func New(opts Options) (*Daemon, error) {
	opts.defaults()
	if opts.Dir == "" || opts.Scheme == nil || opts.Registry == nil {
		return nil, errors.New("daemon: Dir, Scheme and Registry are required")
	}
	if st, err := os.Stat(opts.Dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("--watch %s: not a directory", opts.Dir)
	}
	d := &Daemon{
		opts: opts, log: opts.Logger, q: newQueue(), pool: &controller.Pool{},
		gens: map[string]string{}, hosts: map[string]*v1alpha1.HostStatus{},
		resOnHost: map[string]map[v1alpha1.ResourceRef]v1alpha1.ResourceHostState{},
		passed:    map[string]bool{}, listenReady: make(chan struct{}),
	}
	d.m = newMetrics(d.q.Len)
	d.history = openHistory(opts)
	d.web = newWebSource(d)
	page, err := newStatusPage(d)
	if err != nil {
		return nil, err
	}
	d.page = page
	if opts.StateDir != "" {
		if st, err := LoadStatus(opts.StateDir); err == nil {
			d.restore(st)
		}
	}
	return d, nil
}

// restore takes the saved status so that conditions keep their transition
// times and a quarantined host keeps its failure count across a restart.
func (d *Daemon) restore(st *v1alpha1.ControllerStatus) {
	d.conditions = st.Conditions
	for i := range st.Hosts {
		h := st.Hosts[i]
		d.hosts[h.Name] = &h
	}
	for _, r := range st.Resources {
		ref := v1alpha1.ResourceRef{Kind: r.Kind, Name: r.Name}
		for _, hs := range r.Hosts {
			if d.resOnHost[hs.Host] == nil {
				d.resOnHost[hs.Host] = map[v1alpha1.ResourceRef]v1alpha1.ResourceHostState{}
			}
			d.resOnHost[hs.Host][ref] = hs
		}
	}
}

// Addr is the address the HTTP server listens on, once Run has started it.
func (d *Daemon) Addr() string {
	<-d.listenReady
	if d.listener == nil {
		return ""
	}
	return d.listener.Addr().String()
}

// Run reconciles until ctx is cancelled, then stops taking work, lets work
// in flight finish (bounded by ShutdownGrace), saves the status and returns
// nil. A value on reload (SIGHUP) reloads the manifests at once.
func (d *Daemon) Run(ctx context.Context, reload <-chan struct{}) error {
	var srv *http.Server
	if d.opts.Listen != "" {
		ln, err := net.Listen("tcp", d.opts.Listen)
		if err != nil {
			close(d.listenReady)
			return fmt.Errorf("--listen %s: %w", d.opts.Listen, err)
		}
		d.listener = ln
		srv = &http.Server{Handler: d.handler(), ReadHeaderTimeout: 5 * time.Second}
		srv.RegisterOnShutdown(d.page.Close)
		go func() { _ = srv.Serve(ln) }()
		d.log.Info("serving status", "addr", ln.Addr().String())
	}
	close(d.listenReady)

	changed := make(chan struct{}, 1)
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	if err := watch(watchCtx, d.opts.Dir, d.opts.Debounce, d.log, changed); err != nil {
		return fmt.Errorf("watch %s: %w", d.opts.Dir, err)
	}
	d.reload()

	// Work gets its own context: a stop signal ends the queue, and work in
	// flight is cancelled only after the grace period.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var wg sync.WaitGroup
	for range d.opts.MaxConcurrentHosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				host, ok := d.q.Get()
				if !ok {
					return
				}
				d.reconcile(workCtx, host)
				d.q.Done(host)
			}
		}()
	}

	resync := time.NewTicker(d.opts.Resync)
	defer resync.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-changed:
			d.reload()
		case <-reload:
			d.log.Info("reload requested")
			d.reload()
		case <-resync.C:
			d.mu.Lock()
			now := time.Now()
			for name := range d.gens {
				// A quarantined host keeps to its backoff; resync is for
				// drift on healthy hosts.
				if hs := d.hosts[name]; hs != nil && hs.NextRetry != nil && now.Before(*hs.NextRetry) {
					continue
				}
				d.q.Add(name)
			}
			d.mu.Unlock()
		}
	}

	d.log.Info("stopping: no new work; waiting for work in flight", "grace", d.opts.ShutdownGrace)
	d.q.ShutDown()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d.opts.ShutdownGrace):
		d.log.Warn("grace period over; cancelling work in flight")
		cancelWork()
		<-done
	}
	d.pool.Close()
	d.save()
	d.closeHistory()
	if srv != nil {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}
	d.log.Info("stopped")
	return nil
}

// reload loads the manifests; an invalid set is reported and the last valid
// one keeps running. Hosts whose desired state changed are queued.
func (d *Daemon) reload() {
	l := &manifest.Loader{Scheme: d.opts.Scheme, Edges: d.opts.Registry.Dependencies, Declare: d.opts.Declare}
	set, err := l.Load(d.opts.Dir)
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	defer d.saveLocked()
	defer d.web.notify()
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
// spec of every resource targeting it, including the content of the local
// files its kind declares as inputs (optimus:"path,input").
func generation(h *v1alpha1.Host, resources []*v1alpha1.Resource) string {
	hash := sha256.New()
	enc := json.NewEncoder(hash)
	_ = enc.Encode(h.Spec)
	for _, r := range resources {
		_ = enc.Encode(r.ID())
		_ = enc.Encode(r.Spec)
		for _, p := range v1alpha1.FileInputs(r.Spec) {
			if b, err := os.ReadFile(p); err == nil {
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

// reconcile runs the engine on one host and records the outcome.
func (d *Daemon) reconcile(ctx context.Context, name string) {
	d.mu.Lock()
	set, gen := d.set, d.gens[name]
	var host *v1alpha1.Host
	if set != nil {
		for _, h := range set.Hosts() {
			if h.Metadata.Name == name {
				host = h
			}
		}
	}
	hs := d.hosts[name]
	if host == nil || hs == nil {
		d.mu.Unlock()
		return
	}
	previousGen := hs.ObservedGeneration
	wasReady := isTrue(hs.Conditions, v1alpha1.ConditionReady)
	now := time.Now()
	hs.Conditions = v1alpha1.SetCondition(hs.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionReconciling,
		Status: v1alpha1.ConditionTrue, Reason: "Reconciling", ObservedGeneration: gen}, now)
	d.web.notify()
	d.mu.Unlock()

	log := d.log.With("host", name)
	log.Debug("reconcile start", "generation", gen)
	eng := &controller.Engine{Registry: d.opts.Registry, Pool: d.pool, Parallel: 1, MaxCycles: d.opts.MaxCycles, Dial: d.opts.Dial,
		Inventory: d.opts.Inventory}
	start := time.Now()
	rep, err := eng.Run(ctx, []*v1alpha1.Host{host}, set.Resources)
	took := time.Since(start)
	d.m.duration.Observe(took.Seconds())
	d.recordRun(ctx, set, name, rep, err, start, took)
	d.web.recordRun(name, rep, time.Now())

	d.mu.Lock()
	defer d.mu.Unlock()
	defer d.saveLocked()
	defer d.web.notify()
	now = time.Now()
	hs = d.hosts[name]
	if hs == nil { // the host left the manifests meanwhile
		return
	}
	hs.Conditions = v1alpha1.SetCondition(hs.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionReconciling,
		Status: v1alpha1.ConditionFalse, Reason: "Idle", ObservedGeneration: gen}, now)
	result, reason := "failed", ""
	var hr controller.HostReport
	hostErr := err
	switch {
	case err != nil:
		reason = err.Error()
	case len(rep.Hosts) == 1:
		hr = rep.Hosts[0]
		hs.LastRun = &v1alpha1.RunSummary{Start: start, Duration: took, Cycles: rep.Cycles, Changed: hr.Changed, Failed: hr.Failed}
		switch hr.State {
		case controller.HostConverged:
			result = "converged"
		case controller.HostFailed:
			reason, hostErr = hr.Reason(), hr.Err
		default:
			result, reason = "unconverged", "still changing after the maximum number of cycles"
			if rep.Interrupted {
				reason = "interrupted by shutdown"
			}
		}
		hs.LastRun.Result = result
	}
	d.m.reconciles.WithLabelValues(result).Inc()
	if rep != nil {
		for _, p := range rep.Plans {
			for _, hp := range p.Hosts {
				for _, a := range hp.Actions {
					level := slog.LevelInfo
					if a.Status == controller.StatusFailed {
						level = slog.LevelError
					}
					log.Log(ctx, level, a.Description, "resource", a.Resource.String(), "status", string(a.Status), "cycle", p.Cycle, "err", a.ErrorText())
				}
			}
		}
	}
	d.recordResources(name, set, host, rep, result)
	if result == "converged" {
		if hr.Changed > 0 && previousGen == gen && wasReady {
			d.m.drift.Inc()
			log.Info("drift corrected", "changed", hr.Changed)
		}
		hs.ObservedGeneration, hs.Failures, hs.NextRetry, hs.LastError = gen, 0, nil, ""
		hs.Conditions = v1alpha1.SetCondition(hs.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionReady,
			Status: v1alpha1.ConditionTrue, Reason: "Converged", Message: fmt.Sprintf("%d changed in %s", hr.Changed, took.Round(time.Millisecond)), ObservedGeneration: gen}, now)
		hs.Conditions = v1alpha1.SetCondition(hs.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionQuarantined,
			Status: v1alpha1.ConditionFalse, Reason: "Healthy", ObservedGeneration: gen}, now)
		log.Info("reconciled", "result", result, "changed", hr.Changed, "duration", took)
	} else {
		hs.Failures++
		why, terminal := quarantineReason(hostErr)
		delay := retryDelay(d.opts.BackoffInitial, d.opts.BackoffMax, hs.Failures, terminal)
		next := now.Add(delay)
		hs.NextRetry, hs.LastError = &next, reason
		quarantined := result == "failed"
		hs.Conditions = v1alpha1.SetCondition(hs.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionReady,
			Status: v1alpha1.ConditionFalse, Reason: map[bool]string{true: "Quarantined", false: "NotConverged"}[quarantined], Message: reason, ObservedGeneration: gen}, now)
		hs.Conditions = v1alpha1.SetCondition(hs.Conditions, v1alpha1.Condition{Type: v1alpha1.ConditionQuarantined,
			Status: map[bool]v1alpha1.ConditionStatus{true: v1alpha1.ConditionTrue, false: v1alpha1.ConditionFalse}[quarantined],
			Reason: map[bool]string{true: why, false: "Healthy"}[quarantined], Message: reason + "; next retry at " + next.Format(time.RFC3339), ObservedGeneration: gen}, now)
		log.Warn("reconcile failed; retrying with backoff", "result", result, "reason", why, "terminal", terminal, "err", reason, "retry_in", delay.Round(time.Millisecond), "failures", hs.Failures)
		d.q.AddAfter(name, delay)
	}
	d.passed[name] = true
	d.updateReadyLocked(now)
}

// recordResources keeps, per host, the state of every resource targeting it.
func (d *Daemon) recordResources(hostName string, set *manifest.Set, host *v1alpha1.Host, rep *controller.Report, result string) {
	states := map[v1alpha1.ResourceRef]v1alpha1.ResourceHostState{}
	def := v1alpha1.ResourceHostState{Host: hostName, State: "converged"}
	if result != "converged" {
		def = v1alpha1.ResourceHostState{Host: hostName, State: "unknown"}
	}
	for _, r := range set.ForHost(host) {
		states[r.Ref()] = def
	}
	if rep != nil {
		for _, p := range rep.Plans {
			for _, hp := range p.Hosts {
				for _, a := range hp.Actions {
					ref := a.Resource
					switch a.Status {
					case controller.StatusFailed:
						states[ref] = v1alpha1.ResourceHostState{Host: hostName, State: "failed", Message: a.ErrorText()}
					case controller.StatusSkipped, controller.StatusPlanned:
						if states[ref].State != "failed" {
							states[ref] = v1alpha1.ResourceHostState{Host: hostName, State: "pending", Message: a.ErrorText()}
						}
					}
				}
			}
		}
		for _, u := range rep.Unconverged {
			states[u.Ref] = v1alpha1.ResourceHostState{Host: hostName, State: v1alpha1.ResourcePending, Message: "kept changing"}
		}
	}
	d.resOnHost[hostName] = states
}

// backoff doubles from initial per failure up to max, with ±10% jitter so
// hosts that failed together do not retry together.
func backoff(initial, max time.Duration, failures int) time.Duration {
	d := initial
	for i := 1; i < failures && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	jitter := time.Duration((rand.Float64()*0.2 - 0.1) * float64(d))
	return d + jitter
}

func isTrue(conds []v1alpha1.Condition, t string) bool {
	c := v1alpha1.FindCondition(conds, t)
	return c != nil && c.Status == v1alpha1.ConditionTrue
}

// updateReadyLocked sets the controller's Ready condition once every host
// has been reconciled at least once, and the host-state gauges.
func (d *Daemon) updateReadyLocked(now time.Time) {
	all := d.set != nil
	counts := map[string]float64{"ready": 0, "quarantined": 0, "pending": 0}
	for name, hs := range d.hosts {
		if !d.passed[name] {
			all = false
		}
		switch {
		case isTrue(hs.Conditions, v1alpha1.ConditionReady):
			counts["ready"]++
		case isTrue(hs.Conditions, v1alpha1.ConditionQuarantined):
			counts["quarantined"]++
		default:
			counts["pending"]++
		}
	}
	for state, n := range counts {
		d.m.hosts.WithLabelValues(state).Set(n)
	}
	if all && !d.ready {
		d.ready = true
		d.log.Info("first full pass done", "hosts", len(d.hosts))
	}
	status, reason := v1alpha1.ConditionFalse, "FirstPass"
	if d.ready {
		status, reason = v1alpha1.ConditionTrue, "PassCompleted"
	}
	d.conditions = v1alpha1.SetCondition(d.conditions, v1alpha1.Condition{Type: v1alpha1.ConditionReady, Status: status, Reason: reason}, now)
	d.updatedAt = now
}

// Status returns a snapshot of the whole status.
func (d *Daemon) Status() *v1alpha1.ControllerStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.statusLocked()
}

func (d *Daemon) statusLocked() *v1alpha1.ControllerStatus {
	st := &v1alpha1.ControllerStatus{Conditions: append([]v1alpha1.Condition(nil), d.conditions...), UpdatedAt: d.updatedAt}
	for _, hs := range d.hosts {
		c := *hs
		c.Conditions = append([]v1alpha1.Condition(nil), hs.Conditions...)
		st.Hosts = append(st.Hosts, c)
	}
	sort.Slice(st.Hosts, func(i, j int) bool { return st.Hosts[i].Name < st.Hosts[j].Name })
	if d.set != nil {
		for _, r := range d.set.Resources {
			if r.Kind == v1alpha1.HostKind.Kind {
				continue
			}
			rs := v1alpha1.ResourceStatus{Kind: r.Kind, Name: r.Metadata.Name, ObservedGeneration: specGeneration(r)}
			ready, reason, msg := true, "Converged", ""
			for _, h := range d.set.Hosts() {
				if t := r.Targeting(); t != nil && !t.HostSelector.Matches(h.Metadata.Labels) {
					continue
				}
				state, ok := d.resOnHost[h.Metadata.Name][r.Ref()]
				if !ok {
					state = v1alpha1.ResourceHostState{Host: h.Metadata.Name, State: "pending"}
				}
				rs.Hosts = append(rs.Hosts, state)
				if state.State != "converged" {
					ready = false
					if reason == "Converged" || state.State == "failed" {
						reason, msg = "NotConverged", fmt.Sprintf("%s on %s", state.State, h.Metadata.Name)
						if state.State == "failed" {
							reason = "Failed"
							msg += ": " + state.Message
						}
					}
				}
			}
			status := v1alpha1.ConditionTrue
			if !ready {
				status = v1alpha1.ConditionFalse
			}
			rs.Conditions = []v1alpha1.Condition{{Type: v1alpha1.ConditionReady, Status: status, Reason: reason, Message: msg,
				LastTransitionTime: d.updatedAt, ObservedGeneration: rs.ObservedGeneration}}
			st.Resources = append(st.Resources, rs)
		}
	}
	return st
}

func (d *Daemon) save() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.saveLocked()
}

func (d *Daemon) saveLocked() {
	if d.opts.StateDir == "" {
		return
	}
	if err := saveStatus(d.opts.StateDir, d.statusLocked()); err != nil {
		d.log.Error("cannot save status", "dir", d.opts.StateDir, "err", err)
	}
}
