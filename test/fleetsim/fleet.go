package fleetsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/test/testhost"
)

// Labels every fleetsim container carries, besides testhost.LabelTest (and
// testhost.LabelPID unless the fleet is persistent, so a test binary killed
// by its timeout leaves nothing behind).
const LabelFleet = "optimus.fleetsim" // the fleet's prefix

// MaxHostsPerContainer keeps simd within the descriptors a container may
// open (Docker's default limit, 20,000 here, cannot be raised without
// privileges): a listener per host, and a socket and three pipes per
// connected one.
const MaxHostsPerContainer = 3000

// Options says which fleet Start brings up.
type Options struct {
	// Hosts is the number of simulated hosts.
	Hosts int
	// Containers share them out (contiguous ranges); 1 when zero.
	Containers int
	// Prefix names the containers Prefix-1 ... Prefix-K and tells fleets
	// apart for Down.
	Prefix string
	// BasePort is the port of host 0 on 127.0.0.1; host i listens on
	// BasePort+i. 20000 when zero: below Linux's ephemeral range.
	BasePort int
	// Dir receives the client key (reused when it exists), known_hosts and
	// fleet.json.
	Dir string
	// Persistent fleets outlive this process (the command line's up).
	Persistent bool
	// Log receives progress; nil discards it.
	Log io.Writer
}

// Fleet is a running simulated fleet: what a benchmark or a test needs to
// reach it.
type Fleet struct {
	Prefix         string   `json:"prefix"`
	Containers     []string `json:"containers"`
	KeyFile        string   `json:"keyFile"`
	KnownHostsFile string   `json:"knownHostsFile"`
	Hosts          []Host   `json:"hosts"`
}

// Host is one simulated host.
type Host struct {
	Name      string `json:"name"`
	Address   string `json:"address"` // always 127.0.0.1
	Port      int    `json:"port"`
	Container string `json:"container"`
}

// Addr is the host's SSH address.
func (h Host) Addr() string { return net.JoinHostPort(h.Address, strconv.Itoa(h.Port)) }

// Resource returns the i-th simulated host's Host resource: root with the
// fleet's key, host key checked strictly against the fleet's known_hosts.
func (f *Fleet) Resource(i int) *v1alpha1.Host {
	h := f.Hosts[i]
	spec := &v1alpha1.HostSpec{
		Address:        h.Address,
		Port:           h.Port,
		User:           "root",
		PrivateKeyFile: f.KeyFile,
		HostKey:        v1alpha1.HostKeySpec{KnownHostsFile: f.KnownHostsFile, Policy: "strict"},
		ConnectTimeout: &v1alpha1.Duration{Duration: 30 * time.Second},
	}
	meta := v1alpha1.ObjectMeta{Name: h.Name}
	spec.Default(&meta)
	return &v1alpha1.Host{Metadata: meta, Spec: spec}
}

// Start brings up a fleet, replacing any fleet of the same prefix, and
// returns once every container answers SSH. It builds simd from this
// module, so it runs from inside the module (as tests and hack/ do). On
// error nothing it started is left.
func Start(ctx context.Context, opts Options) (*Fleet, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	image, err := testhost.EnsureImage(ctx, log)
	if err != nil {
		return nil, err
	}
	if err := Down(ctx, opts.Prefix); err != nil {
		return nil, err
	}
	if err := portsFree(opts.BasePort, opts.Hosts); err != nil {
		return nil, err
	}
	payload := filepath.Join(opts.Dir, "payload")
	if err := os.MkdirAll(payload, 0o700); err != nil {
		return nil, err
	}
	defer os.RemoveAll(payload)
	keyFile, pub, err := testhost.EnsureKey(opts.Dir, "optimus fleetsim")
	if err != nil {
		return nil, err
	}
	seed, err := newSeed(filepath.Join(payload, "seed"))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(payload, "authorized_keys"), pub, 0o644); err != nil {
		return nil, err
	}
	fmt.Fprintln(log, "building simd (static)")
	if err := buildSimd(ctx, filepath.Join(payload, "simd")); err != nil {
		return nil, err
	}
	f := &Fleet{Prefix: opts.Prefix, KeyFile: keyFile, KnownHostsFile: filepath.Join(opts.Dir, "known_hosts")}
	ranges := split(opts.Hosts, opts.Containers)
	for k, r := range ranges {
		name := fmt.Sprintf("%s-%d", opts.Prefix, k+1)
		f.Containers = append(f.Containers, name)
		for i := r[0]; i < r[1]; i++ {
			f.Hosts = append(f.Hosts, Host{Name: HostName(i, opts.Hosts), Address: "127.0.0.1", Port: opts.BasePort + i, Container: name})
		}
	}
	fmt.Fprintf(log, "starting %d simulated hosts in %d containers\n", opts.Hosts, len(ranges))
	errs := make([]error, len(ranges))
	var wg sync.WaitGroup
	for k, r := range ranges {
		wg.Go(func() { errs[k] = f.startContainer(ctx, opts, image, payload, k, r) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		_ = Down(context.WithoutCancel(ctx), opts.Prefix)
		return nil, err
	}
	if err := f.writeKnownHosts(seed); err != nil {
		_ = Down(context.WithoutCancel(ctx), opts.Prefix)
		return nil, err
	}
	doc, _ := json.MarshalIndent(f, "", "  ")
	if err := os.WriteFile(filepath.Join(opts.Dir, "fleet.json"), append(doc, '\n'), 0o644); err != nil {
		_ = Down(context.WithoutCancel(ctx), opts.Prefix)
		return nil, err
	}
	return f, nil
}

func (o *Options) check() error {
	if o.Containers == 0 {
		o.Containers = 1
	}
	if o.BasePort == 0 {
		o.BasePort = 20000
	}
	switch {
	case o.Hosts < 1:
		return fmt.Errorf("fleetsim: need at least one host, got %d", o.Hosts)
	case o.Containers < 1 || o.Containers > o.Hosts:
		return fmt.Errorf("fleetsim: containers must be between 1 and the hosts (%d), got %d", o.Hosts, o.Containers)
	case o.Hosts > o.Containers*MaxHostsPerContainer:
		return fmt.Errorf("fleetsim: %d hosts need at least %d containers (at most %d hosts each)", o.Hosts, (o.Hosts+MaxHostsPerContainer-1)/MaxHostsPerContainer, MaxHostsPerContainer)
	case o.BasePort < 1024 || o.BasePort+o.Hosts > 65536:
		return fmt.Errorf("fleetsim: ports %d..%d are not all between 1024 and 65535", o.BasePort, o.BasePort+o.Hosts-1)
	case o.Prefix == "" || strings.ContainsAny(o.Prefix, "/ :"):
		return fmt.Errorf("fleetsim: the prefix %q must be non-empty, without '/', ':' or spaces", o.Prefix)
	case o.Dir == "":
		return errors.New("fleetsim: Options.Dir is required (the key and known_hosts go there)")
	}
	return os.MkdirAll(o.Dir, 0o700)
}

// split cuts n hosts into k contiguous ranges [from, to) of near-equal size.
func split(n, k int) [][2]int {
	var out [][2]int
	for i := range k {
		out = append(out, [2]int{i * n / k, (i + 1) * n / k})
	}
	return out
}

// portsFree fails, naming the first, when a port of the fleet is taken.
func portsFree(base, n int) error {
	for i := range n {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(base+i)))
		if err != nil {
			return fmt.Errorf("fleetsim: port %d (host %d) is taken; choose another base port: %w", base+i, i, err)
		}
		ln.Close()
	}
	return nil
}

// Down removes every container of the fleet prefix; none is fine.
func Down(ctx context.Context, prefix string) error {
	out, err := docker(ctx, "ps", "-aq", "--filter", "label="+LabelFleet+"="+prefix)
	if err != nil {
		return err
	}
	if ids := strings.Fields(out); len(ids) > 0 {
		_, err = docker(ctx, append([]string{"rm", "-f", "-v"}, ids...)...)
	}
	return err
}
