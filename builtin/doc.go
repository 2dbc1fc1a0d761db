// Package builtin lists the kinds that ship with Optimus, so that the
// optimus command and a user's own tool can take all of them at once:
//
//	optimus.Main(optimus.WithKinds(builtin.Kinds()...))
package builtin
