// Package lineinfile reconciles LineInFile resources: lines of an existing
// (or, with create, a new) text file kept present (replacing the line a
// regexp finds, or inserted after or before another) or absent. Several
// lines of one resource are planned in order and written as one change,
// checked by validate first, through the guarded atomic write File uses.
// The match is planned with Go regular expressions; the edit sent to the
// host names exact lines (see internal/textedit), so several resources
// editing one file in the same cycle compose instead of overwriting each
// other.
package lineinfile
