// Package depgraph orders resources by their dependencies and finds
// dependency cycles: the one graph implementation that loading (package
// manifest, which rejects cycles with file:line) and the engine (which acts
// in dependency order and skips what depends on a failure) share.
package depgraph
