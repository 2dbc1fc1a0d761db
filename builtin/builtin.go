package builtin

import (
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/cli"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/reconcilers/group"
	"github.com/optimus-cm/optimus/reconcilers/user"
)

// Reconcilers returns a reconciler for every built-in kind that has one.
func Reconcilers() []reconcilers.Reconciler {
	return []reconcilers.Reconciler{user.Reconciler{}, group.Reconciler{}}
}

// Config returns the CLI configuration of the optimus command.
func Config(version string) (cli.Config, error) {
	scheme, err := v1alpha1.NewScheme(v1alpha1.BuiltinKinds()...)
	if err != nil {
		return cli.Config{}, err
	}
	registry, err := reconcilers.NewRegistry(Reconcilers()...)
	if err != nil {
		return cli.Config{}, err
	}
	return cli.Config{Name: "optimus", Scheme: scheme, Registry: registry, Version: version}, nil
}
