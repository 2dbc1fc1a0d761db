// Package cli builds the optimus command line (apply, diff, validate, run,
// explain, schema, version, ...) from a chosen set of kinds, so that the
// built-in binary and a user's own tool are made the same way.
package cli
