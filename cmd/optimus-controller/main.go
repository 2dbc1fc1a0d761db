// Command optimus-controller reconciles a manifest directory continuously.
package main

import (
	"github.com/optimus-cm/optimus"
	"github.com/optimus-cm/optimus/builtin"
)

var version = "dev"

func main() {
	optimus.MainController(optimus.WithVersion(version), optimus.WithKinds(builtin.Kinds()...))
}
