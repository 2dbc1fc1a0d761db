// Package optimus builds configuration-management tools from kinds.
//
// # The model
//
// Users describe the desired state of their machines as typed resources
// (kind: User, kind: File, or a kind of your own) in YAML manifests. For
// every host, the engine runs cycles:
//
//   - observe: each kind's reconciler declares read-only queries; all of a
//     host's queries go to it in one round trip over one persistent shell;
//   - plan: each reconciler compares desired and observed state and returns
//     actions, each with a one-line description and a redacted before/after;
//   - act: after confirmation, a host's actions run in one round trip, in
//     dependency order; a failure skips what depends on it;
//
// until no host has anything to do. A host whose connection or action fails
// is quarantined: it is skipped for the rest of the run and the others go on.
//
// # Building your own tool
//
// A tool is a set of kinds. Each kind is a spec type (a struct embedding
// v1alpha1.Targeting, with json and validate tags) and a reconciler (package
// reconcilers documents the contract). Main builds the same command line as
// the optimus command — apply, diff, validate, run, explain, schema, get,
// describe and controller — from the kinds given:
//
//	func main() {
//		optimus.Main(
//			optimus.WithName("mytool"),
//			optimus.WithKinds(user.Kind, file.Kind, motd.Kind),
//		)
//	}
//
// Desired state may also be written in Go, as in the first Optimus: a
// function given each Host returns resources for it (WithDesiredState); they
// go through the same validation, planning and engine as YAML.
//
// Custom kinds get what built-in kinds get: strict loading with file:line
// errors, explain and JSON Schema, plans with redaction, ordering,
// quarantine, controller status and metrics. Package reconcilertest proves a
// reconciler against a real host with one call. The optimus command itself is
// built this way (cmd/optimus), so built-in kinds have no privileges a custom
// kind lacks.
package optimus
