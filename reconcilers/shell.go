package reconcilers

import (
	"strings"
)

// ShellCommand joins args into one shell command line, each argument quoted.
func ShellCommand(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'" // TODO(lead): transport.Quote
	}
	return strings.Join(q, " ")
}
