// Package status keeps optimus-controller's view of the fleet: one record
// per host, replaced when that host finishes a reconcile, and immutable
// snapshots that the status API, the metrics, the state file and the status
// page read without holding up the workers.
//
// Costs follow what changed: recording one host's outcome is proportional to
// the resources of that host; the per-resource view of the whole fleet is
// derived from the host records only when a snapshot is read, and a snapshot
// is rebuilt at most once per change however many readers ask for it.
package status
