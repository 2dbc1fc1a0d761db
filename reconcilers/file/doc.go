// Package file reconciles File resources: regular files whose content
// (inline, from a local source, or a rendered template), mode and ownership
// are compared by sha256 and written atomically, the content travelling on
// the action's standard input and never back from the host.
package file
