// Package engine is the engine of Optimus: it observes every host
// (read-only), plans the actions that would make each resource converge,
// acts on them, and repeats until no host has anything left to do. A host
// whose connection or action fails is quarantined so the others go on.
//
// A run (Engine.Run) is a sequence of named steps over an explicit state
// per host: prepare, then for each rollout batch cycles of observe, plan,
// verify (the first cycle, against a saved plan) and act, then record. The
// inventory (prune, pending restarts), saved plans and rollouts take part
// in those steps. An Observer watches a run (progress, plans, acts,
// batches); Engine.Confirm and Engine.Fence are the only callbacks that
// decide.
//
// The same engine serves `optimus apply`, `optimus diff` and the
// optimus-controller daemon; nothing in it knows about the command line,
// the daemon or the run history.
package controller
