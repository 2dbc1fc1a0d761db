package reconcilers

import (
	"strings"

	"github.com/optimus-cm/optimus/transport"
)

// ShellCommand joins args into one shell command line, each argument quoted.
func ShellCommand(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = transport.Quote(a)
	}
	return strings.Join(q, " ")
}
