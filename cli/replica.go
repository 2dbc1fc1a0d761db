package cli

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/optimus-cm/optimus/controller/cluster"
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
	fs.StringVar(&f.ca, "etcd-ca", "", "CA certificate file that signed the etcd servers' certificates")
	fs.StringVar(&f.cert, "etcd-cert", "", "client certificate file for etcd")
	fs.StringVar(&f.key, "etcd-key", "", "client key file for etcd")
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
	if f.ca != "" || f.cert != "" || f.key != "" {
		if (f.cert == "") != (f.key == "") {
			return nil, nil, fmt.Errorf("--etcd-cert and --etcd-key go together")
		}
		tls, err := transport.TLSInfo{TrustedCAFile: f.ca, CertFile: f.cert, KeyFile: f.key}.ClientConfig()
		if err != nil {
			return nil, nil, fmt.Errorf("etcd TLS (--etcd-ca, --etcd-cert, --etcd-key): %w", err)
		}
		cfg.TLS = tls
	}
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
