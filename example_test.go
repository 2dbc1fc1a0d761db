package optimus_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/optimus-cm/optimus"
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/cli"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/reconcilers/file"
	"github.com/optimus-cm/optimus/reconcilers/user"
	"github.com/optimus-cm/optimus/transport"
)

// A tool made of two built-in kinds knows those and Host.
func Example() {
	cfg, err := optimus.Config(optimus.WithName("mytool"), optimus.WithKinds(user.Kind, file.Kind))
	if err != nil {
		panic(err)
	}
	for _, k := range cfg.Scheme.Kinds() {
		fmt.Println(k.Kind)
	}
	// Output:
	// File
	// GroupVars
	// Host
	// HostGroup
	// RolloutPolicy
	// User
}

// HostnameSpec is the spec of a custom kind: the host's name.
type HostnameSpec struct {
	v1alpha1.Targeting `json:",inline"`
	Name               string `json:"name" validate:"required,hostname_rfc1123"`
}

type hostnameReconciler struct{}

func (hostnameReconciler) Kind() string { return "Hostname" }

func (hostnameReconciler) Queries(*v1alpha1.Host, []reconcilers.Object[HostnameSpec]) []reconcilers.Query {
	return []reconcilers.Query{{Key: "hostname", Script: "cat /etc/hostname"}}
}

func (hostnameReconciler) Plan(_ context.Context, req reconcilers.TypedRequest[HostnameSpec]) ([]reconcilers.Action, error) {
	want := req.Spec.Name
	got, err := req.Facts.Stdout("hostname")
	if err != nil || got == want+"\n" {
		return nil, err
	}
	return []reconcilers.Action{{Op: reconcilers.OpUpdate, Description: "set hostname to " + want,
		Script: "echo " + transport.Quote(want) + " > /etc/hostname"}}, nil
}

// A custom kind is checked like a built-in one: here a manifest with a
// misspelt field fails validation with its line.
func ExampleWithKinds() {
	hostname := reconcilers.NewKind[HostnameSpec]("example.com/v1", "Hostname", "The host's name.", hostnameReconciler{})
	cfg, err := optimus.Config(optimus.WithName("mytool"), optimus.WithKinds(hostname))
	if err != nil {
		panic(err)
	}
	manifest := "apiVersion: example.com/v1\nkind: Hostname\nmetadata: {name: web}\nspec:\n  nmae: web1\n"
	code := cli.Run(cfg, []string{"validate", "-f", "-"}, strings.NewReader(manifest), os.Stdout, os.Stdout)
	fmt.Println("exit status", code)
	// Output:
	// mytool: invalid manifests (1 error):
	// <stdin>:5: Hostname/web: spec.nmae: unknown field "nmae" (known: hostSelector, dependsOn, name)
	// exit status 1
}

// Desired state written in Go is checked like YAML: each Host of the
// manifests gets what the function returns.
func ExampleWithDesiredState() {
	perHost := func(h *v1alpha1.Host) ([]*v1alpha1.Resource, error) {
		banner := "welcome to " + h.Metadata.Name + "\n"
		return []*v1alpha1.Resource{{
			TypeMeta: v1alpha1.TypeMeta{APIVersion: v1alpha1.APIVersion, Kind: "File"},
			Metadata: v1alpha1.ObjectMeta{Name: "banner-" + h.Metadata.Name},
			Spec:     &v1alpha1.FileSpec{Path: "/etc/issue.net", Content: &banner},
		}}, nil
	}
	cfg, err := optimus.Config(optimus.WithKinds(file.Kind), optimus.WithDesiredState(perHost))
	if err != nil {
		panic(err)
	}
	hosts := "apiVersion: optimus.dev/v1alpha1\nkind: Host\nmetadata: {name: web1}\nspec: {address: 127.0.0.1}\n"
	cli.Run(cfg, []string{"validate", "-f", "-"}, strings.NewReader(hosts), os.Stdout, os.Stdout)
	// Output:
	// 2 resources valid (1 host)
}
