package history

import (
	"fmt"
	"strings"

	"github.com/optimus-cm/optimus/reconcilers"
)

// ChangeLine formats one field change as apply prints it.
func ChangeLine(c reconcilers.Change) string {
	return fmt.Sprintf("%s: %s -> %s", c.Field, quoteEmpty(c.Before), quoteEmpty(c.After))
}

func quoteEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// ChangeLines are the lines printed under an action: its field changes,
// then its diff.
func ChangeLines(a reconcilers.Action) []string {
	var lines []string
	for _, c := range a.Changes {
		lines = append(lines, ChangeLine(c))
	}
	if a.Diff != "" {
		lines = append(lines, strings.Split(strings.TrimRight(a.Diff, "\n"), "\n")...)
	}
	return lines
}
