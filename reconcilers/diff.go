package reconcilers

import (
	"strings"
	"unicode/utf8"

	udiff "github.com/aymanbagabas/go-udiff"
)

// IsText reports whether b looks like text worth diffing: valid UTF-8 and
// no NUL byte.
func IsText(b []byte) bool {
	return utf8.Valid(b) && !strings.ContainsRune(string(b), 0)
}

// UnifiedDiff returns a unified diff (3 lines of context) from before to
// after, both named name; empty when they are equal. A missing final newline
// is marked as diff -u marks it.
func UnifiedDiff(name, before, after string) string {
	if before == after {
		return ""
	}
	// Not udiff.Unified: it exits the process on an inconsistent edit
	// script, and a diff is only shown, never worth a controller's life.
	out, err := udiff.ToUnified(name, name, before, udiff.Lines(before, after), udiff.DefaultContextLines)
	if err != nil {
		return "--- " + name + "\n+++ " + name + "\n(no diff: " + err.Error() + ")\n"
	}
	return out
}
