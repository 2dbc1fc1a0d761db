// Package builtin assembles the kinds and reconcilers that ship with
// Optimus into the configuration of the optimus command.
package builtin
