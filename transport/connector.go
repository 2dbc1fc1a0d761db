package transport

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// Connector is one way of reaching hosts, named by a Host's spec.transport:
// the built-in ssh, local and docker, or one a tool registers.
type Connector interface {
	// Name is what spec.transport says to choose this connector.
	Name() string
	// NewSettings returns a pointer to the zero settings struct the
	// connector reads from spec.settings, or nil if it takes none. The
	// manifest loader checks settings against it as it checks a kind's
	// spec: strict fields, validator tags, then v1alpha1.Checker.
	NewSettings() any
	// Dial opens a connection to h and starts its persistent shell; a host
	// that cannot be reached, authenticated or become fails here, preferably
	// as a *ConnectError. Paths in h.Spec are already absolute.
	Dial(ctx context.Context, h *v1alpha1.Host) (Conn, error)
}

// NewConnector makes a Connector whose settings are S, so that dial
// receives them decoded and needs no type assertion.
func NewConnector[S any](name string, dial func(ctx context.Context, h *v1alpha1.Host, settings *S) (Conn, error)) Connector {
	return typedConnector[S]{name: name, dial: dial}
}

type typedConnector[S any] struct {
	name string
	dial func(ctx context.Context, h *v1alpha1.Host, settings *S) (Conn, error)
}

func (c typedConnector[S]) Name() string     { return c.name }
func (c typedConnector[S]) NewSettings() any { return new(S) }

func (c typedConnector[S]) Dial(ctx context.Context, h *v1alpha1.Host) (Conn, error) {
	s := new(S)
	if err := h.Spec.DecodeSettings(s); err != nil {
		return nil, &ConnectError{Host: h.Metadata.Name, Addr: c.name, Reason: ReasonConfig, Err: fmt.Errorf("spec.settings: %w", err)}
	}
	return c.dial(ctx, h, s)
}

// Registry holds the connectors of a tool, the built-in ones first. It
// also owns the connections to bastions that its ssh hosts share.
type Registry struct {
	connectors map[string]Connector
	ssh        *sshConnector
}

// NewRegistry returns the built-in connectors plus custom ones; two
// connectors of one name is an error.
func NewRegistry(custom ...Connector) (*Registry, error) {
	ssh := &sshConnector{bastions: newBastionPool()}
	r := &Registry{connectors: map[string]Connector{}, ssh: ssh}
	for _, c := range append([]Connector{ssh, localConnector{}, dockerConnector{}}, custom...) {
		if c == nil || c.Name() == "" {
			return nil, errors.New("transport: a connector needs a name")
		}
		if _, dup := r.connectors[c.Name()]; dup {
			return nil, fmt.Errorf("transport %s registered twice", c.Name())
		}
		r.connectors[c.Name()] = c
	}
	return r, nil
}

// Schemas lists the connectors with their settings, for v1alpha1.NewHostKind.
func (r *Registry) Schemas() v1alpha1.TransportSchemas {
	ts := v1alpha1.TransportSchemas{}
	for name, c := range r.connectors {
		if c.NewSettings() == nil {
			ts[name] = nil
			continue
		}
		ts[name] = c.NewSettings
	}
	return ts
}

// Dial opens a connection to h with the connector its spec.transport names.
func (r *Registry) Dial(ctx context.Context, h *v1alpha1.Host) (Conn, error) {
	if h == nil || h.Spec == nil {
		return nil, errors.New("transport: Dial needs a Host with a spec")
	}
	name := h.Spec.Transport
	if name == "" {
		name = "ssh"
	}
	c, ok := r.connectors[name]
	if !ok {
		return nil, &ConnectError{Host: h.Metadata.Name, Addr: name, Reason: ReasonConfig,
			Err: fmt.Errorf("unknown transport %q (use one of %s)", name, strings.Join(slices.Sorted(maps.Keys(r.connectors)), ", "))}
	}
	return c.Dial(ctx, h)
}

// BastionDials reports how many SSH connections the registry has opened to
// bastions: hosts behind one bastion share one.
func (r *Registry) BastionDials() int64 { return r.ssh.bastions.dials.Load() }

var defaultRegistry = func() *Registry {
	r, err := NewRegistry()
	if err != nil {
		panic(err)
	}
	return r
}()

// Dial opens a connection to h with the built-in connectors and starts its
// persistent shell, so that a host that cannot be reached, authenticated or
// become fails here, as a *ConnectError. Paths in h.Spec must already be
// absolute. A tool with connectors of its own dials through its Registry.
func Dial(ctx context.Context, h *v1alpha1.Host) (Conn, error) {
	return defaultRegistry.Dial(ctx, h)
}

var (
	_ Connector = (*sshConnector)(nil)
	_ Connector = localConnector{}
	_ Connector = dockerConnector{}
	_ Connector = typedConnector[struct{}]{}
)

// sshConnector reaches hosts over SSH, through bastions when they have a jump.
type sshConnector struct{ bastions *bastionPool }

func (*sshConnector) Name() string     { return "ssh" }
func (*sshConnector) NewSettings() any { return nil }

func (c *sshConnector) Dial(ctx context.Context, h *v1alpha1.Host) (Conn, error) {
	spec := withDefaults(h)
	o, err := newSSH(h.Metadata.Name, spec, c.bastions)
	if err != nil {
		return nil, &ConnectError{Host: h.Metadata.Name, Addr: sshAddr(spec), Reason: ReasonConfig, Err: err}
	}
	return dialOpener(ctx, h.Metadata.Name, o)
}

// localConnector runs the shell on the machine running optimus.
type localConnector struct{}

func (localConnector) Name() string     { return "local" }
func (localConnector) NewSettings() any { return nil }

func (localConnector) Dial(ctx context.Context, h *v1alpha1.Host) (Conn, error) {
	spec := withDefaults(h)
	return dialOpener(ctx, h.Metadata.Name, &execOpener{desc: "local", spec: spec, login: "the local user"})
}

// dockerConnector runs the shell in a container with docker exec.
type dockerConnector struct{}

func (dockerConnector) Name() string     { return "docker" }
func (dockerConnector) NewSettings() any { return nil }

func (dockerConnector) Dial(ctx context.Context, h *v1alpha1.Host) (Conn, error) {
	spec := withDefaults(h)
	prefix := []string{"docker", "exec", "-i"}
	login := "the container's user"
	if spec.User != "" && spec.User != "root" {
		prefix = append(prefix, "-u", spec.User)
		login = spec.User
	}
	prefix = append(prefix, spec.Container)
	return dialOpener(ctx, h.Metadata.Name, &execOpener{desc: "docker container " + spec.Container, spec: spec, prefix: prefix, login: login})
}

// DialCommand starts the persistent shell inside a local command, such as
// `kubectl exec -i POD --` or `lxc exec NAME --`: argv is run with the
// shell's own arguments appended, and desc names it in errors. It is the
// way for a custom connector to reuse the batch protocol; h's become and
// connectTimeout apply.
func DialCommand(ctx context.Context, h *v1alpha1.Host, desc string, argv ...string) (Conn, error) {
	if h == nil || h.Spec == nil {
		return nil, errors.New("transport: DialCommand needs a Host with a spec")
	}
	spec := withDefaults(h)
	return dialOpener(ctx, h.Metadata.Name, &execOpener{desc: desc, spec: spec, prefix: argv, login: "the user of " + desc})
}
