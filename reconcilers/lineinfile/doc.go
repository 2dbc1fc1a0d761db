// Package lineinfile reconciles LineInFile resources: one line of an existing
// text file kept present (replacing the line a regexp finds, or inserted after
// another) or absent. The match is planned with Go regular expressions; the
// edit sent to the host names exact lines, so several resources editing one
// file in the same cycle compose instead of overwriting each other.
package lineinfile
