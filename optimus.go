package optimus

import (
	"context"
	"fmt"
	"os"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/cli"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Option configures a tool.
type Option func(*options)

type options struct {
	name    string
	version string
	kinds   []reconcilers.Kind
	declare func(h *v1alpha1.Host) ([]*v1alpha1.Resource, error)
}

// WithName names the tool (the binary name in help and errors). Default "optimus".
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithVersion sets what the version command prints.
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

// WithKinds adds kinds to the tool. Host is always included.
func WithKinds(kinds ...reconcilers.Kind) Option {
	return func(o *options) { o.kinds = append(o.kinds, kinds...) }
}

// WithDesiredState adds desired state written in Go, as the first Optimus
// did: fn is called for every Host of the manifests and returns resources
// for it, which are validated, planned and applied exactly like YAML ones.
// A resource without a hostSelector applies to that host only; names must
// be unique across hosts, as in manifests.
func WithDesiredState(fn func(h *v1alpha1.Host) ([]*v1alpha1.Resource, error)) Option {
	return func(o *options) { o.declare = fn }
}

// Config assembles the tool's scheme and reconciler registry; two kinds of
// one name is an error.
func Config(opts ...Option) (cli.Config, error) {
	o := options{name: "optimus", version: "dev"}
	for _, opt := range opts {
		opt(&o)
	}
	types := []v1alpha1.KindType{v1alpha1.HostKind, v1alpha1.HostGroupKind}
	var recs []reconcilers.Reconciler
	for _, k := range o.kinds {
		types = append(types, k.Type)
		if k.Reconciler == nil {
			continue
		}
		if k.Reconciler.Kind() != k.Type.Kind {
			return cli.Config{}, fmt.Errorf("kind %s: its reconciler handles %s", k.Type.Kind, k.Reconciler.Kind())
		}
		recs = append(recs, k.Reconciler)
	}
	scheme, err := v1alpha1.NewScheme(types...)
	if err != nil {
		return cli.Config{}, err
	}
	registry, err := reconcilers.NewRegistry(recs...)
	if err != nil {
		return cli.Config{}, err
	}
	return cli.Config{Name: o.name, Scheme: scheme, Registry: registry, Version: o.version, Declare: o.declare}, nil
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
