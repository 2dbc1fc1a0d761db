package cli

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/optimus-cm/optimus/internal/cluster"
	"github.com/optimus-cm/optimus/internal/web"
)

// replicaFlags are the controller's flags for sharing a fleet through etcd.
type replicaFlags struct {
	endpoints, prefix, id string
	ca, cert, key         string
	ttl                   time.Duration
}

func (f *replicaFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.endpoints, "etcd-endpoints", "", "share the fleet with other replicas through this etcd cluster (URL[,URL...]); empty runs alone")
	fs.StringVar(&f.prefix, "etcd-prefix", cluster.DefaultPrefix, "etcd key prefix of the fleet (one per fleet)")
	fs.StringVar(&f.id, "replica-id", "", "this replica's name, unique among live replicas (default hostname-pid)")
	fs.StringVar(&f.ca, "etcd-ca-file", "", "PEM file of the CA that signed the etcd servers' certificates")
	fs.StringVar(&f.cert, "etcd-cert-file", "", "client certificate (PEM) for etcd; with --etcd-key-file")
	fs.StringVar(&f.key, "etcd-key-file", "", "private key (PEM) of --etcd-cert-file")
	// The names these flags had first keep working.
	for old, v := range map[string]*string{"etcd-ca": &f.ca, "etcd-cert": &f.cert, "etcd-key": &f.key} {
		fs.StringVar(v, old, "", "same as --"+old+"-file")
		_ = fs.MarkHidden(old)
	}
	fs.DurationVar(&f.ttl, "etcd-lease-ttl", 10*time.Second, "lease TTL: a replica that stops is replaced within about this long")
}

// replica connects to etcd and returns the replica, or nil when the flags
// ask to run alone. close releases the client.
func (f *replicaFlags) replica(addr string, log *slog.Logger) (*cluster.Replica, func(), error) {
	if f.endpoints == "" {
		return nil, func() {}, nil
	}
	cfg := clientv3.Config{Endpoints: strings.Split(f.endpoints, ","), DialTimeout: 5 * time.Second,
		DialKeepAliveTime: f.ttl / 3, DialKeepAliveTimeout: f.ttl / 3, Logger: zap.NewNop()}
	tlsCfg, err := etcdTLS(f.ca, f.cert, f.key)
	if err != nil {
		return nil, nil, err
	}
	cfg.TLS = tlsCfg
	warnPlainEndpoints(cfg.Endpoints, tlsCfg != nil, log)
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("--etcd-endpoints %s: %w", f.endpoints, err)
	}
	r, err := cluster.New(cluster.Config{Client: cli, Prefix: f.prefix, ID: f.id, TTL: f.ttl, Addr: addr, Logger: log})
	if err != nil {
		_ = cli.Close()
		return nil, nil, err
	}
	return r, func() { _ = cli.Close() }, nil
}

// etcdTLS builds the etcd client's TLS configuration from the three files,
// nil when none is given (the system's CAs then check https endpoints).
func etcdTLS(ca, cert, key string) (*tls.Config, error) {
	if ca == "" && cert == "" && key == "" {
		return nil, nil
	}
	if (cert == "") != (key == "") {
		return nil, fmt.Errorf("--etcd-cert-file and --etcd-key-file go together: give both for a client certificate, or neither")
	}
	cfg, err := transport.TLSInfo{TrustedCAFile: ca, CertFile: cert, KeyFile: key}.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("etcd TLS (--etcd-ca-file %s, --etcd-cert-file %s, --etcd-key-file %s): %w", orNone(ca), orNone(cert), orNone(key), err)
	}
	return cfg, nil
}

// warnPlainEndpoints warns about etcd endpoints reached without TLS on
// another machine: the fleet's status, its desired state and every
// replica's leases would cross the network in clear, and anyone on the way
// could change them. A scheme-less endpoint uses TLS only when TLS files
// are given.
func warnPlainEndpoints(endpoints []string, withTLS bool, log *slog.Logger) {
	for _, ep := range endpoints {
		var hostport string
		switch {
		case strings.HasPrefix(ep, "http://"):
			hostport = strings.TrimPrefix(ep, "http://")
		case strings.Contains(ep, "://"), withTLS:
			continue
		default:
			hostport = ep
		}
		hostport, _, _ = strings.Cut(hostport, "/")
		if _, _, err := net.SplitHostPort(hostport); err != nil { // no port
			hostport = net.JoinHostPort(strings.Trim(hostport, "[]"), "0")
		}
		if web.IsLoopback(hostport) {
			continue
		}
		log.Warn("etcd endpoint without TLS on another machine: the fleet's state and leases cross the network in clear, and anyone on the way can change them; use https:// with --etcd-ca-file (and --etcd-cert-file, --etcd-key-file)",
			"endpoint", ep)
	}
}
