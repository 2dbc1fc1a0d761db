// Package termsafe makes text from hosts and manifests safe to print on a
// terminal: control characters (C0, C1, DEL, and with them ESC, CSI, OSC,
// BEL, CR) and Unicode bidirectional overrides are written as visible
// escapes (\x1b, \u202e), so a file's content, a symbolic link's target or a
// command's output can neither move the cursor, clear the screen, retitle
// the window nor forge a line that looks like Optimus's own.
//
// Text keeps newlines and tabs, for multi-line views (diffs, command
// output); Line escapes them too, for values shown on one line (a path, a
// reason in a table). Writer escapes a stream. All three share one rule.
// JSON output does not need this package: encoding/json escapes by itself.
package termsafe
