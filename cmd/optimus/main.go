// Command optimus applies, diffs and validates manifests against hosts.
package main

import (
	"github.com/optimus-cm/optimus"
	"github.com/optimus-cm/optimus/builtin"
)

var version = "dev"

func main() {
	optimus.Main(optimus.WithVersion(version), optimus.WithKinds(builtin.Kinds()...))
}
