// Command optimus-controller reconciles a manifest directory continuously.
package main

import (
	"fmt"
	"os"

	"github.com/optimus-cm/optimus/builtin"
	"github.com/optimus-cm/optimus/cli"
)

var version = "dev"

func main() {
	cfg, err := builtin.Config(version)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(cli.MainController(cfg))
}
