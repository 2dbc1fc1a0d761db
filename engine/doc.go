// Package engine is the engine of Optimus: it observes every host
// (read-only), plans the actions that would make each resource converge,
// acts on them, and repeats until no host has anything left to do. A host
// whose connection or action fails is quarantined so the others go on.
//
// The same engine serves `optimus apply`, `optimus diff` and the
// optimus-controller daemon; nothing in it knows about the command line.
package engine
