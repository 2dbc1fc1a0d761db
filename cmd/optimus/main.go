// Command optimus applies, diffs and validates manifests against hosts.
package main

import (
	"github.com/optimus-cm/optimus"
	"github.com/optimus-cm/optimus/builtin"
)

func main() {
	optimus.Main(optimus.WithKinds(builtin.Kinds()...))
}
