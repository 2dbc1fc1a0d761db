// Package transport carries shell commands to a host and brings back each
// command's output and exit status: over SSH (directly or through bastions),
// on the local machine, into a Docker container, or through a Connector a
// tool registers.
//
// Every transport keeps one persistent remote shell per host for a whole run
// and sends a batch of commands in a single round trip, because starting an
// SSH session per command costs far more than the commands themselves.
//
// Hosts behind the same bastion share one SSH connection to it, held by a
// Registry for as long as one of them is connected.
package transport
