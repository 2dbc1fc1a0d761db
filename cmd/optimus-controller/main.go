// Command optimus-controller reconciles a manifest directory continuously.
package main

import (
	"github.com/optimus-cm/optimus"
	"github.com/optimus-cm/optimus/builtin"
)

func main() {
	optimus.MainController(optimus.WithKinds(builtin.Kinds()...))
}
