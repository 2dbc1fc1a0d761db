package transport

import (
	"context"
	"fmt"
)

// Command is one shell command of a batch.
type Command struct {
	// Script is run by the remote POSIX shell in a subshell, so `exit` or `cd`
	// inside it cannot disturb the commands after it.
	Script string
	// Stdin is fed to the command's standard input; without it the command
	// reads /dev/null, so it can never swallow the batch protocol.
	Stdin []byte
	// After lists indices of earlier commands in the same batch that must
	// have exited 0; otherwise this command is not run and is reported Skipped.
	After []int
	// MaxStdout is how much of the command's standard output is kept
	// (DefaultMaxStdout when 0); the rest is read and dropped.
	MaxStdout int
}

// Result is what one command of a batch did.
type Result struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
	// Truncated is true when the command printed more than its MaxStdout:
	// Stdout holds the first bytes only, and StdoutSize says how many
	// there were in all.
	Truncated  bool
	StdoutSize int64
	// Skipped is true when a command named in After failed or was skipped.
	Skipped bool
}

// OK reports whether the command ran and exited 0.
func (r Result) OK() bool { return !r.Skipped && r.ExitCode == 0 }

// Conn is an open connection to one host with its persistent shell.
// A Conn is safe for use by one goroutine at a time.
type Conn interface {
	// Batch runs cmds in order in one round trip and returns one Result per
	// command. A non-nil error means the transport failed (connection lost,
	// protocol broken); a command's own failure is only its ExitCode. With
	// such an error, the results of the commands that finished before it
	// may be returned (fewer than cmds); the command after them is the one
	// that was running, and a batch stopped by its context (a deadline, an
	// interrupt) ran none of those after it.
	Batch(ctx context.Context, cmds []Command) ([]Result, error)
	// Close ends the shell and the connection.
	Close() error
}

// Run runs a single command on c.
func Run(ctx context.Context, c Conn, script string) (Result, error) {
	rs, err := c.Batch(ctx, []Command{{Script: script}})
	if err != nil {
		return Result{}, err
	}
	if len(rs) != 1 {
		return Result{}, fmt.Errorf("transport returned %d results for 1 command", len(rs))
	}
	return rs[0], nil
}
