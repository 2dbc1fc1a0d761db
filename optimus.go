package optimus

import (
	"context"
	"fmt"
	"os"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/cli"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// Option configures a tool.
type Option func(*options)

type options struct {
	name       string
	version    string
	kinds      []reconcilers.Kind
	declare    func(h *v1alpha1.Host) ([]*v1alpha1.Resource, error)
	transports []transport.Connector
}

// WithName names the tool (the binary name in help and errors). Default "optimus".
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithVersion sets the version the version command and the controller
// report. Without it they report the one Go recorded when building the tool
// (the module version of a go install, "devel" with the commit for a build
// from a source tree).
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

// WithKinds adds kinds to the tool. Host is always included.
func WithKinds(kinds ...reconcilers.Kind) Option {
	return func(o *options) { o.kinds = append(o.kinds, kinds...) }
}

// WithTransports adds connectors to the tool, beside the built-in ssh,
// local and docker: a Host chooses one by name in spec.transport, and its
// spec.settings are checked against the connector's settings when the
// manifests are loaded.
func WithTransports(connectors ...transport.Connector) Option {
	return func(o *options) { o.transports = append(o.transports, connectors...) }
}

// WithDesiredState adds desired state written in Go, as the first Optimus
// did: fn is called for every Host of the manifests and returns resources
// for it, which are validated, planned and applied exactly like YAML ones.
// They are checked as Go values, and an error names the host and the
// resource: "desired state for host web1 (Go): User/bob: spec.shell: ...".
// A resource without a hostSelector applies to that host only; names must
// be unique across hosts, as in manifests. fn must return new values on
// each call: defaults and absolute paths are filled in them.
func WithDesiredState(fn func(h *v1alpha1.Host) ([]*v1alpha1.Resource, error)) Option {
	return func(o *options) { o.declare = fn }
}

// Config assembles the tool's scheme and reconciler registry; two kinds of
// one name is an error.
func Config(opts ...Option) (cli.Config, error) {
	o := options{name: "optimus"}
	for _, opt := range opts {
		opt(&o)
	}
	transports, err := transport.NewRegistry(o.transports...)
	if err != nil {
		return cli.Config{}, err
	}
	types := []v1alpha1.KindType{v1alpha1.NewHostKind(transports.Schemas()), v1alpha1.HostGroupKind, v1alpha1.GroupVarsKind, v1alpha1.RolloutPolicyKind}
	for _, k := range o.kinds {
		types = append(types, k.Type)
	}
	scheme, err := v1alpha1.NewScheme(types...)
	if err != nil {
		return cli.Config{}, err
	}
	registry, err := reconcilers.NewKindRegistry(o.kinds...)
	if err != nil {
		return cli.Config{}, err
	}
	return cli.Config{Name: o.name, Scheme: scheme, Registry: registry, Version: o.version, Declare: o.declare, Transports: transports}, nil
}

// Main runs the tool's command line with os.Args and exits with its status.
func Main(opts ...Option) {
	cfg, err := Config(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(cli.Main(cfg))
}

// MainController runs the tool's controller daemon (the command line of
// optimus-controller) with os.Args and exits with its status.
func MainController(opts ...Option) {
	cfg, err := Config(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(cli.RunController(context.Background(), cfg, os.Args[1:], os.Stdout, os.Stderr))
}
