package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/optimus-cm/optimus/internal/daemon"
	"github.com/optimus-cm/optimus/internal/version"
)

// DefaultControllerAddr is where optimus-controller serves its status API
// and where optimus get and describe look for it.
const DefaultControllerAddr = "127.0.0.1:9443"

// defaultStateDir is /var/lib/NAME for root, the XDG state directory otherwise.
func defaultStateDir(name string) string {
	if os.Geteuid() == 0 {
		return filepath.Join("/var/lib", name)
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, name)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "." + name
	}
	return filepath.Join(home, ".local", "state", name)
}

// NewControllerRoot builds the command line of the controller daemon.
func NewControllerRoot(cfg Config) *cobra.Command {
	return newControllerCmd(cfg, cfg.Name+"-controller")
}

// newControllerCmd is the daemon's command, as the root of NAME-controller
// or as the controller subcommand of a tool.
func newControllerCmd(cfg Config, use string) *cobra.Command {
	name := cfg.Name + "-controller"
	opts := daemon.Options{Scheme: cfg.Scheme, Registry: cfg.Registry, Declare: cfg.Declare, Dial: cfg.dial()}
	var logFormat, logLevel, pprofAddr, probeURL string
	info := cfg.buildInfo()
	opts.Version = &info
	var sf setFlags
	var rf replicaFlags
	cmd := &cobra.Command{
		Use:   use + " --watch DIR",
		Short: "Reconcile a manifest directory continuously, correcting drift",
		Long: `Watch a manifest directory and keep every host converged: changes to the
manifests are applied within seconds, drift is corrected every --resync, and a
host that fails is quarantined and retried with exponential backoff while the
others go on; a failure that retrying cannot fix (a changed host key, refused
credentials, sudo refused, an unusable Host) is retried only at --backoff-max
or when the manifests change. Status is served over HTTP (a status page at /,
/healthz, /readyz, /metrics, /api/v1/status) and saved in --state-dir.

--listen on an address other than loopback needs --auth-token-file: a file of
one token per line ("TOKEN" may read, "TOKEN write" may also queue a reconcile
from the page), readable by its owner only (chmod 600). Every request but
/healthz and /readyz must then carry "Authorization: Bearer TOKEN"; the page
asks for the token once and keeps a session cookie. It also needs HTTPS
(--tls-cert-file and --tls-key-file), or --insecure-http when something else
encrypts the traffic. Requests that change anything (POST) are refused when a
page of another site sent them, with or without tokens; failed sign-ins are
limited per client address.

Each host keeps the inventory of what the set (--set, default the name of
the watched directory) holds there, and the restarts it still owes, as with
optimus apply. --prune removes from the hosts what left the manifests,
through each kind's absent state, without asking.

SIGTERM or SIGINT: stop taking work, let work in flight finish, save status,
exit 0. SIGHUP: reload the manifests now. Under systemd (Type=notify) the
controller reports READY=1 once it serves and has loaded the manifests.

--probe URL checks another controller's health instead of running one: it
exits 0 when URL (say http://127.0.0.1:9443/healthz) answers 2xx within
5s, 1 otherwise. Container health checks use it, as images without a shell
have no curl.

--etcd-endpoints shares the fleet with other replicas running on copies of
the same manifests: each host is reconciled by exactly one replica, every act
is fenced on the replica's etcd lease, a replica that loses etcd stops acting
(EtcdUnavailable), one whose manifests differ acts on nothing
(ConfigOutOfSync), and the status API of any replica shows the whole fleet.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       info.Version,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if probeURL != "" {
				return probe(cmd.Context(), probeURL, cmd.OutOrStdout())
			}
			logger, err := newLogger(cmd.ErrOrStderr(), logFormat, logLevel)
			if err != nil {
				return exitf(exitFailed, "%v", err)
			}
			opts.Logger = logger
			if opts.Dir != "" {
				if opts.Inventory, err = sf.inventory(cfg, []string{opts.Dir}); err != nil {
					return err
				}
			}
			replica, closeEtcd, err := rf.replica(opts.Listen, logger)
			if err != nil {
				return exitf(exitFailed, "%v", err)
			}
			defer closeEtcd()
			opts.Replica = replica
			if pprofAddr != "" {
				stopProfiler, err := serveProfiler(pprofAddr, logger)
				if err != nil {
					return exitf(exitFailed, "%v", err)
				}
				defer stopProfiler()
			}
			gcForDaemon()
			d, err := daemon.New(opts)
			if err != nil {
				return exitf(exitFailed, "%v", err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			reload := make(chan struct{}, 1)
			go func() {
				for range hup {
					select {
					case reload <- struct{}{}:
					default:
					}
				}
			}()
			if err := d.Run(ctx, reload); err != nil {
				return exitf(exitFailed, "%v", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Dir, "watch", "", "manifest directory to watch (required)")
	sf.register(cmd, "the watched directory", "remove from the hosts what left the manifests (through each kind's absent state); without it, it is only listed")
	f.DurationVar(&opts.Resync, "resync", 5*time.Minute, "re-observe every host this often to correct drift")
	f.StringVar(&opts.Listen, "listen", DefaultControllerAddr, "HTTP address for health, metrics and status (empty: none)")
	f.StringVar(&opts.AuthTokenFile, "auth-token-file", "", "file of bearer tokens (lines: TOKEN or TOKEN write), mode 600; required off loopback")
	f.StringVar(&opts.TLSCertFile, "tls-cert-file", "", "serve HTTPS with this PEM certificate (chain); with --tls-key-file")
	f.StringVar(&opts.TLSKeyFile, "tls-key-file", "", "private key (PEM) of --tls-cert-file")
	f.BoolVar(&opts.InsecureHTTP, "insecure-http", false, "allow plain HTTP on a --listen address other than loopback (tokens and cookies cross the network in clear)")
	f.StringVar(&opts.StateDir, "state-dir", defaultStateDir(name), "directory keeping status across restarts")
	f.IntVar(&opts.MaxConcurrentHosts, "max-concurrent-hosts", daemon.DefaultMaxConcurrentHosts, "hosts reconciled at once over their kept connections")
	f.IntVar(&opts.MaxConcurrentDials, "max-concurrent-dials", 8, "SSH handshakes in flight at once (keep below the sshds' MaxStartups)")
	f.IntVar(&opts.MaxCycles, "max-cycles", 5, "observe-act cycles per reconcile")
	f.DurationVar(&opts.BackoffInitial, "backoff-initial", 5*time.Second, "first retry delay of a failing host")
	f.DurationVar(&opts.BackoffMax, "backoff-max", 5*time.Minute, "longest retry delay of a failing host")
	f.DurationVar(&opts.ShutdownGrace, "shutdown-grace", 60*time.Second, "how long work in flight may take after SIGTERM")
	f.StringVar(&pprofAddr, "debug-pprof", "", "serve Go's profiles (/debug/pprof/) on this loopback address, to investigate CPU and memory")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	rf.register(f)
	f.StringVar(&probeURL, "probe", "", "check that URL answers 2xx within 5s and exit 0, or 1 (a health check for containers)")
	cmd.MarkFlagsOneRequired("watch", "probe")
	cmd.MarkFlagsMutuallyExclusive("watch", "probe")
	cmd.SetVersionTemplate(version.String(name, info))
	return cmd
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %v", err)
	}
	o := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, not %q", format)
}

// RunController runs the controller daemon with explicit arguments.
func RunController(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) int {
	cmd := NewControllerRoot(cfg)
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	return exitCode(cfg.Name+"-controller", cmd.ExecuteContext(ctx), stderr)
}

// serveProfiler serves net/http/pprof on addr, which must be a loopback
// address: profiles show the process's memory and must not leave the machine.
func serveProfiler(addr string, log *slog.Logger) (stop func(), err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--debug-pprof %s: want host:port on loopback, e.g. 127.0.0.1:6060: %v", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("--debug-pprof %s: only a loopback address is allowed (profiles expose the process's memory); use 127.0.0.1:PORT", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--debug-pprof %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("serving profiles", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}

// daemonGCPercent is the controller's GOGC unless the environment sets
// one. A long-running controller's heap is mostly what it keeps per host
// (connections, status), so Go's default of letting garbage grow as large
// as that before collecting doubles its memory for little: at 1,000 hosts
// collecting at half costs ~0.2 ms of CPU per host per pass and saves a
// third of the peak RSS. GOGC and GOMEMLIMIT still tune it.
const daemonGCPercent = 50

func gcForDaemon() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(daemonGCPercent)
	}
}

// probeTimeout bounds a --probe request: a health check that hangs is a
// failed one, and container runtimes kill slow checks anyway.
const probeTimeout = 5 * time.Second

// probe is --probe: GET url and succeed on a 2xx answer.
func probe(ctx context.Context, url string, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return exitf(exitFailed, "--probe %s: %v (want a URL such as http://127.0.0.1:9443/healthz)", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return exitf(exitFailed, "--probe: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return exitf(exitFailed, "--probe %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(stdout, "%s: %s\n", url, resp.Status)
	return nil
}
