package testhost

import (
	"context"
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

	"golang.org/x/crypto/ssh"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// Labels every container started by this package carries.
const (
	LabelTest = "optimus.test" // always "1"
	LabelPID  = "optimus.test.pid"
)

// readyTimeout bounds how long a new container may take to answer SSH.
const readyTimeout = 30 * time.Second

// Options says which containers Create starts.
type Options struct {
	// N is the number of hosts.
	N int
	// Prefix names the containers Prefix-1 ... Prefix-N.
	Prefix string
	// Ports are fixed ports on 127.0.0.1 for sshd, one per host; a missing or
	// zero port is chosen by Docker.
	Ports []int
	// KeyDir holds id_ed25519 (reused when it exists, generated otherwise)
	// and known_hosts (rewritten).
	KeyDir string
	// Labels are added to each container.
	Labels map[string]string
	// Log receives progress; nil discards it.
	Log io.Writer
	// Network, when set, is a Docker network (which must exist) every
	// container joins, where the others reach it by its container name.
	Network string
	// Private is how many of the hosts, the last ones, publish no port:
	// they are reachable only from the Network, through a bastion.
	Private int
	// Persistent hosts outlive this process. Others are labelled with its
	// PID, and Start and Pool remove them once it is gone (a test binary
	// killed by its timeout runs no cleanup).
	Persistent bool
	// RunArgs are added to each container's docker run, such as
	// CapSysAdmin for a test that mounts file systems.
	RunArgs []string
}

// CapSysAdmin is the docker run arguments a test host needs to mount file
// systems and set its running host name: CAP_SYS_ADMIN, and no AppArmor
// profile, since Docker's default one denies mount(2) where AppArmor is
// enforced (elsewhere the option changes nothing). It is not --privileged:
// the container still sees no host devices and keeps its other limits.
var CapSysAdmin = []string{"--cap-add", "SYS_ADMIN", "--security-opt", "apparmor=unconfined"}

// Host is one running test host.
type Host struct {
	// Name is the host's name for manifests and its container's hostname.
	Name string
	// Container is the Docker container name.
	Container string
	// Port is sshd's port on 127.0.0.1.
	Port int
	// KeyFile is the private key authorised for root, deploy and operator.
	KeyFile string
	// KnownHostsFile holds the host keys of every host of the same set.
	KnownHostsFile string

	// Private hosts publish no port: they are reached on their network by
	// container name, port 22, through a bastion.
	Private bool

	fixedPort int
	hostKeys  []string // "type base64" lines read inside the container
	set       *hostSet
}

// hostSet is the hosts created together, sharing a key and a known_hosts file.
type hostSet struct {
	mu    sync.Mutex
	hosts []*Host
}

// Addr is the host's SSH address: on 127.0.0.1, or for a private host
// its container name and port 22, as a bastion on its network dials it.
func (h *Host) Addr() string {
	if h.Private {
		return net.JoinHostPort(h.Container, "22")
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(h.Port))
}

// Resource returns a Host resource that reaches the host as root with the
// key, host keys checked strictly, connect timeout 5s. A private host's
// resource needs a jump to be reachable.
func (h *Host) Resource() *v1alpha1.Host {
	address, port := "127.0.0.1", h.Port
	if h.Private {
		address, port = h.Container, 22
	}
	spec := &v1alpha1.HostSpec{
		Address:        address,
		Port:           port,
		User:           "root",
		PrivateKeyFile: h.KeyFile,
		HostKey:        v1alpha1.HostKeySpec{KnownHostsFile: h.KnownHostsFile, Policy: "strict"},
		ConnectTimeout: &v1alpha1.Duration{Duration: 5 * time.Second},
	}
	meta := v1alpha1.ObjectMeta{Name: h.Name, Labels: map[string]string{"testhost": h.Name}}
	spec.Default(&meta)
	return &v1alpha1.Host{Metadata: meta, Spec: spec}
}

// Create starts opts.N fresh containers, replacing any of the same names,
// and returns when each answers SSH. On error nothing it started is left.
func Create(ctx context.Context, opts Options) ([]*Host, error) {
	if opts.N < 1 {
		return nil, fmt.Errorf("testhost: need at least one host, got %d", opts.N)
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	image, err := EnsureImage(ctx, log)
	if err != nil {
		return nil, err
	}
	keyFile, pub, err := EnsureKey(opts.KeyDir, "optimus test hosts")
	if err != nil {
		return nil, err
	}
	set := &hostSet{}
	for i := range opts.N {
		h := &Host{
			Name:           fmt.Sprintf("%s-%d", opts.Prefix, i+1),
			KeyFile:        keyFile,
			KnownHostsFile: filepath.Join(opts.KeyDir, "known_hosts"),
			set:            set,
		}
		h.Container = h.Name
		h.Private = i >= opts.N-opts.Private
		if i < len(opts.Ports) {
			h.fixedPort = opts.Ports[i]
		}
		set.hosts = append(set.hosts, h)
	}
	names := make([]string, len(set.hosts))
	for i, h := range set.hosts {
		names[i] = h.Container
	}
	if err := Remove(ctx, names...); err != nil {
		return nil, err
	}
	errs := make([]error, len(set.hosts))
	var wg sync.WaitGroup
	for i, h := range set.hosts {
		wg.Go(func() { errs[i] = h.create(ctx, image, pub, opts) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		Remove(context.WithoutCancel(ctx), names...)
		return nil, err
	}
	if err := set.writeKnownHosts(); err != nil {
		Remove(context.WithoutCancel(ctx), names...)
		return nil, err
	}
	return set.hosts, nil
}

func (h *Host) create(ctx context.Context, image string, pub []byte, opts Options) error {
	publish := "127.0.0.1::22"
	if h.fixedPort != 0 {
		publish = fmt.Sprintf("127.0.0.1:%d:22", h.fixedPort)
	}
	args := []string{"run", "-d", "--name", h.Container, "--hostname", h.Name, "--label", LabelTest + "=1"}
	if !h.Private {
		args = append(args, "-p", publish)
	}
	if opts.Network != "" {
		args = append(args, "--network", opts.Network)
	}
	args = append(args,
		// Closer to a real machine, where performance is measured: Docker's
		// default seccomp filter makes each fork about 3x slower, and
		// creating files on overlayfs is slow too (the shell keeps its
		// temporary files in /tmp).
		"--security-opt", "seccomp=unconfined", "--tmpfs", "/tmp:rw,exec,mode=1777")
	if !opts.Persistent {
		args = append(args, "--label", LabelPID+"="+strconv.Itoa(os.Getpid()))
	}
	for k, v := range opts.Labels {
		args = append(args, "--label", k+"="+v)
	}
	args = append(args, opts.RunArgs...)
	if _, err := docker(ctx, nil, append(args, image)...); err != nil {
		return err
	}
	script := `i=0; while [ ! -e /run/testhost-ready ]; do i=$((i+1)); [ $i -lt 400 ] || exit 1; sleep 0.05; done
k=$(cat)
for u in root ` + Deploy + ` ` + Operator + `; do
	d=$(getent passwd "$u" | cut -d: -f6)
	mkdir -p "$d/.ssh" && printf '%s\n' "$k" >"$d/.ssh/authorized_keys"
	chown -R "$u:" "$d/.ssh" && chmod 700 "$d/.ssh" && chmod 600 "$d/.ssh/authorized_keys"
done`
	if _, err := docker(ctx, pub, "exec", "-i", h.Container, "sh", "-c", script); err != nil {
		return fmt.Errorf("install key in %s: %w", h.Container, err)
	}
	return h.refresh(ctx)
}

// refresh reads the published port and the host keys, and waits for sshd.
func (h *Host) refresh(ctx context.Context) error {
	if h.Private {
		if err := h.readHostKeys(ctx); err != nil {
			return err
		}
		return h.waitListening(ctx)
	}
	out, err := docker(ctx, nil, "port", h.Container, "22/tcp")
	if err != nil {
		return err
	}
	_, port, err := net.SplitHostPort(strings.TrimSpace(strings.Split(out, "\n")[0]))
	if err != nil {
		return fmt.Errorf("docker port %s: unexpected %q", h.Container, out)
	}
	if h.Port, err = strconv.Atoi(port); err != nil {
		return fmt.Errorf("docker port %s: unexpected %q", h.Container, out)
	}
	if err := h.readHostKeys(ctx); err != nil {
		return err
	}
	return h.waitSSH(ctx)
}

// waitListening returns once sshd listens inside a private host's
// container (port 22 in state LISTEN in /proc/net/tcp or tcp6).
func (h *Host) waitListening(ctx context.Context) error {
	script := `i=0; until cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$2 ~ /:0016$/ && $4 == "0A" {f=1} END {exit !f}'; do
	i=$((i+1)); [ $i -lt 600 ] || exit 1; sleep 0.05; done`
	if _, err := docker(ctx, nil, "exec", h.Container, "sh", "-c", script); err != nil {
		return fmt.Errorf("sshd of %s did not listen within 30s: %w", h.Container, err)
	}
	return nil
}

var errGotKey = errors.New("host key seen")

// waitSSH returns once sshd on the published port offers one of the host
// keys read from the container (so it is this container's sshd, started).
func (h *Host) waitSSH(ctx context.Context) error {
	deadline := time.Now().Add(readyTimeout)
	var last error
	for time.Now().Before(deadline) {
		if err := ctx.Err(); err != nil {
			return err
		}
		var offered string
		cfg := &ssh.ClientConfig{
			User: "probe",
			HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
				offered = key.Type() + " " + strings.TrimSpace(strings.TrimPrefix(string(ssh.MarshalAuthorizedKey(key)), key.Type()+" "))
				return errGotKey
			},
			Timeout: time.Second,
		}
		c, err := net.DialTimeout("tcp", h.Addr(), time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			_, _, _, err = ssh.NewClientConn(c, h.Addr(), cfg)
			c.Close()
			for _, k := range h.hostKeys {
				if offered == k {
					return nil
				}
			}
			if offered != "" {
				err = fmt.Errorf("offers a host key that is not the container's")
			}
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("sshd of %s on %s did not answer within %s: %v", h.Container, h.Addr(), readyTimeout, last)
}
