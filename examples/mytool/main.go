// Command mytool is a configuration tool built with Optimus from two
// built-in kinds (User, File) and one of its own (Motd).
package main

import (
	"github.com/optimus-cm/optimus"
	"github.com/optimus-cm/optimus/reconcilers/file"
	"github.com/optimus-cm/optimus/reconcilers/user"

	"example.com/mytool/motd"
)

func main() {
	optimus.Main(optimus.WithName("mytool"), optimus.WithKinds(user.Kind, file.Kind, motd.Kind))
}
