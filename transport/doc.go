// Package transport carries shell commands to a host and brings back each
// command's output and exit status: over SSH, on the local machine, or into a
// Docker container.
//
// Every transport keeps one persistent remote shell per host for a whole run
// and sends a batch of commands in a single round trip, because starting an
// SSH session per command costs far more than the commands themselves.
package transport
