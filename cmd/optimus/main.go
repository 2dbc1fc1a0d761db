// Command optimus applies, diffs and validates manifests against hosts.
package main

import (
	"os"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/cli"
)

var version = "dev"

func main() {
	scheme, err := v1alpha1.NewScheme(v1alpha1.BuiltinKinds()...)
	if err != nil {
		panic(err)
	}
	os.Exit(cli.Main(cli.Config{Name: "optimus", Scheme: scheme, Version: version}))
}
