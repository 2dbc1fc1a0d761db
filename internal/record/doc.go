// Package record turns the engine's report of a run into a run-history
// record, so that neither the engine nor the history knows the other: the
// CLI and the controller, which use both, convert here.
package record
