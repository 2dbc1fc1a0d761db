package manifest

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem found while loading manifests.
type Error struct {
	// File is the manifest file as the user named it ("<stdin>" for "-").
	File string
	// Line is 1-based; 0 when the problem concerns the whole file.
	Line int
	// Resource is "Kind/name", or "" when the document could not be identified.
	Resource string
	// Field is the JSON path of the field, such as "spec.hostKey.policy".
	Field string
	// Message says what is wrong and what is allowed.
	Message string
}

// Error formats the problem as "file:line: Kind/name: field.path: message",
// leaving out the parts that are empty.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Resource != "" {
		b.WriteString(e.Resource + ": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// ErrorList is every problem of a manifest set, sorted by file and line.
type ErrorList []*Error

// Error joins the problems with newlines.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sortErrors orders by file then line, keeping the discovery order of
// problems found on the same line.
func sortErrors(l ErrorList) {
	sort.SliceStable(l, func(i, j int) bool {
		if l[i].File != l[j].File {
			return l[i].File < l[j].File
		}
		return l[i].Line < l[j].Line
	})
}
