// Package blockinfile reconciles BlockInFile resources: a block of lines
// kept in a text file between two marker lines that name it, inserted
// where insertAfter or insertBefore says when it is not there yet, brought
// up to date in place, or removed with its markers. The edit goes through
// the same guarded, validated, atomic write as LineInFile's, and names
// exact lines, so several resources editing one file in the same cycle
// compose.
package blockinfile
