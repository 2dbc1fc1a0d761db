package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	sdnotify "github.com/coreos/go-systemd/v22/daemon"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/cluster"
	"github.com/optimus-cm/optimus/internal/history"
	"github.com/optimus-cm/optimus/internal/manifest"
	"github.com/optimus-cm/optimus/internal/status"
	"github.com/optimus-cm/optimus/internal/version"
	"github.com/optimus-cm/optimus/internal/web"
	"github.com/optimus-cm/optimus/reconcilers"
)

// DefaultMaxConcurrentHosts is the default bound on hosts reconciled at
// once. Reconciling a host over its kept connection is mostly waiting for
// the host, so the bound is well above the number of cores.
const DefaultMaxConcurrentHosts = 32

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
	// TLSCertFile and TLSKeyFile, PEM files, serve HTTPS. Without them a
	// non-loopback Listen needs InsecureHTTP.
	TLSCertFile, TLSKeyFile string
	// InsecureHTTP allows plain HTTP on a non-loopback Listen, for when
	// something else encrypts the traffic.
	InsecureHTTP bool
	// StateDir keeps status.json across restarts; empty keeps nothing.
	StateDir string
	// MaxConcurrentHosts bounds hosts reconciled at once over their kept
	// connections. Default DefaultMaxConcurrentHosts.
	MaxConcurrentHosts int
	// MaxConcurrentDials bounds SSH handshakes in flight, separately from
	// reconciles, so that a fleet starting at once does not overflow an
	// sshd's MaxStartups on a shared endpoint. Default 8.
	MaxConcurrentDials int
	// StatusWriteDelay groups status changes into one write of the state
	// file. Default 5s: the file is for restarts (which reconcile every host
	// again anyway) and SIGTERM writes it last, while at 1,000 hosts of 60
	// resources each write is megabytes, and a write every second was a
	// tenth of a resync pass's CPU. A write that took longer than a tenth
	// of it spaces the next one further.
	StatusWriteDelay time.Duration
	// MaxCycles bounds the cycles of one reconcile. Default 5.
	MaxCycles int
	// Debounce groups bursts of file events: a reload waits until the
	// manifests have been quiet this long. Default 100ms, which an editor's
	// save or a git checkout fits in, and which counts in how soon a change
	// reaches its hosts.
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
	// Version is the build reported at /api/v1/status and as the
	// optimus_build_info metric; default that of the running binary.
	Version *v1alpha1.BuildInfo
	// Replica, when set, shares the fleet with other replicas through etcd:
	// this daemon reconciles only the hosts it owns, fences every act, and
	// serves the whole fleet's status. Nil runs alone.
	Replica *cluster.Replica
}

func (o *Options) defaults() {
	if o.Resync <= 0 {
		o.Resync = 5 * time.Minute
	}
	if o.MaxConcurrentHosts <= 0 {
		o.MaxConcurrentHosts = DefaultMaxConcurrentHosts
	}
	if o.MaxConcurrentDials <= 0 {
		o.MaxConcurrentDials = 8
	}
	if o.StatusWriteDelay <= 0 {
		o.StatusWriteDelay = 5 * time.Second
	}
	if o.MaxCycles <= 0 {
		o.MaxCycles = 5
	}
	if o.Debounce <= 0 {
		o.Debounce = 100 * time.Millisecond
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
	if o.Version == nil {
		info := version.Get()
		o.Version = &info
	}
}

// Daemon reconciles a manifest directory continuously.
type Daemon struct {
	opts   Options
	log    *slog.Logger
	q      *queue
	pool   *controller.Pool
	m      *metrics
	status *status.Tracker
	dial   controller.DialFunc
	routes []route

	// mu guards the desired state: the manifests and what they mean per
	// host. Status has its own lock in the tracker.
	mu       sync.Mutex
	set      *manifest.Set // the last valid manifests
	desired  map[string]*desiredHost
	loaded   bool // a valid set was loaded since the start
	restored map[string]bool
	digest   string   // of the manifests in hand (history.Digest)
	snapData []byte   // their snapshot, nil when too large to keep
	ro       *rollout // the view of the fleet's rollout, nil without one
	viewOf   string   // the manifests digest ro was derived for
	rec      *fleetRecord
	outcomes map[string]outcomeRecord
	rev      int64
	pause    *time.Timer     // wakes the daemon when a pause between batches ends
	waiting  map[string]bool // hosts passed over while the stored state was behind the manifests
	// refreshKick asks refreshLoop to read the stored state again.
	refreshKick chan struct{}
	ready       atomic.Bool // every host was reconciled once since the start

	web     *webSource        // the status page's view of the daemon
	tls     *tls.Config       // HTTPS; nil serves plain HTTP
	page    *web.Server       // the status page
	history *history.Recorder // run records; nil when not recorded

	listener    net.Listener
	listenReady chan struct{}

	rs replicaState

	labels labelIndex    // host labels of the current set, for label selectors
	fleet  *replicaFleet // replica mode: the fleet's status from a watch of etcd

	// The rollout's shared state, and the desired state of the manifests
	// hosts may be held to, by digest (snapMu, never taken before mu and
	// never held across I/O; snapLoad serializes loads from the store).
	store    rolloutStore
	snapLoad sync.Mutex
	snapMu   sync.Mutex
	snaps    map[string]map[string]*desiredHost
	snapBase string // where stored snapshots are extracted to be loaded
	// bg is for work started outside a reconcile (timers, the API); it
	// ends when Run returns.
	bg       context.Context
	cancelBG context.CancelFunc
}

// desiredHost is what one host should look like, computed once per load.
type desiredHost struct {
	host       *v1alpha1.Host
	resources  []*v1alpha1.Resource // the resources targeting it, in manifest order
	generation string
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
		opts: opts, log: opts.Logger, q: newQueue(), pool: &controller.Pool{}, status: status.New(),
		desired: map[string]*desiredHost{}, restored: map[string]bool{}, listenReady: make(chan struct{}),
	}
	d.m = newMetrics(d.q.Len, *opts.Version)
	d.dial = boundedDial(opts.Dial, opts.MaxConcurrentDials, d.log, d.m.dials.Inc)
	d.web = newWebSource(d)
	page, err := newStatusPage(d)
	if err != nil {
		return nil, err
	}
	d.page = page
	if d.tls, err = serverTLS(opts); err != nil {
		return nil, err
	}
	d.history = openHistory(opts)
	d.bg, d.cancelBG = context.WithCancel(context.Background())
	d.snaps = map[string]map[string]*desiredHost{}
	d.waiting = map[string]bool{}
	d.refreshKick = make(chan struct{}, 1)
	if opts.Replica != nil {
		d.fleet = newReplicaFleet(opts.Replica, d.status)
		d.store = etcdStore{opts.Replica}
	} else if d.store, err = newLocalStore(opts.StateDir); err != nil {
		return nil, fmt.Errorf("rollout state: %w", err)
	}
	if opts.StateDir != "" {
		if _, err := os.Stat(filepath.Join(opts.StateDir, StatusFile)); err == nil {
			st, err := LoadStatus(opts.StateDir)
			if err != nil {
				d.log.Warn("cannot read the saved status; starting afresh", "err", err)
			} else {
				d.status.Restore(st)
				for _, h := range st.Hosts {
					d.restored[h.Name] = true
				}
			}
		}
	}
	return d, nil
}

// Status returns the current status snapshot. It is immutable and shared:
// read it, never modify it.
func (d *Daemon) Status() *status.Snapshot { return d.status.Snapshot() }

// Tracker gives access to the status tracker, to subscribe to changes.
func (d *Daemon) Tracker() *status.Tracker { return d.status }

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
		if d.tls != nil {
			ln = tls.NewListener(ln, d.tls)
		}
		d.listener = ln
		srv = &http.Server{Handler: d.handler(), ReadHeaderTimeout: 5 * time.Second}
		srv.RegisterOnShutdown(d.page.Close)
		go func() { _ = srv.Serve(ln) }()
		d.log.Info("serving status", "addr", ln.Addr().String(), "https", d.tls != nil)
	}
	close(d.listenReady)

	changed := make(chan struct{}, 1)
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	if err := watch(watchCtx, d.opts.Dir, d.opts.Debounce, d.log, changed); err != nil {
		return fmt.Errorf("watch %s: %w", d.opts.Dir, err)
	}
	writerCtx, stopWriter := context.WithCancel(context.Background())
	defer stopWriter()
	writerDone := make(chan struct{})
	go func() { defer close(writerDone); d.writeStatus(writerCtx) }()
	d.reload()
	stopReplica := d.startReplica()
	go d.refreshLoop(d.bg)
	notify(d.log, sdnotify.SdNotifyReady)

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
			d.resync()
		}
	}

	notify(d.log, sdnotify.SdNotifyStopping)
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
	stopReplica()
	d.pool.Close()
	stopWriter()
	<-writerDone
	d.save()
	d.closeHistory()
	d.cancelBG()
	d.mu.Lock()
	if d.pause != nil {
		d.pause.Stop()
	}
	d.mu.Unlock()
	d.snapMu.Lock()
	if d.snapBase != "" {
		_ = os.RemoveAll(d.snapBase)
	}
	d.snapMu.Unlock()
	if srv != nil {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}
	d.log.Info("stopped")
	return nil
}

// notify tells systemd (Type=notify units) how the daemon is doing; outside
// systemd, without $NOTIFY_SOCKET, it does nothing.
func notify(log *slog.Logger, state string) {
	if _, err := sdnotify.SdNotify(false, state); err != nil {
		log.Warn("cannot notify systemd", "state", state, "err", err)
	}
}
