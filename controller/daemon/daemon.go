package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller"
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
	// Listen is the HTTP address of /healthz, /readyz, /metrics and the
	// status API; empty serves nothing.
	Listen string
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
	if opts.StateDir != "" {
		if st, err := LoadStatus(opts.StateDir); err == nil {
			d.restore(st)
		}
	}
	return d, nil
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
	if srv != nil {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}
	d.log.Info("stopped")
	return nil
}
