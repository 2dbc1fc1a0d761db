package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"
)

// stopScript signals a process ($2) and every process below it with $1. It
// runs beside the persistent shell (in a session or process of its own),
// because the shell is busy with the batch it stops. The tree is read from
// /proc once, before anything is signalled, so that a child whose parent
// dies first is still found; a process that left the tree on purpose (a
// daemon a service script starts) is not touched.
const stopScript = `s=$1 t=" $2 "
m=$(for f in /proc/[0-9]*/status; do
	while read -r k v; do
		if [ "$k" = PPid: ]; then p=${f#/proc/}; printf '%s %s\n' "${p%/status}" "$v"; break; fi
	done <"$f"
done 2>/dev/null)
while :; do
	a=$t
	set -- $m
	while [ $# -ge 2 ]; do
		case $t in *" $2 "*) case $t in *" $1 "*) ;; *) t="$t$1 " ;; esac ;; esac
		shift 2
	done
	[ "$a" = "$t" ] && break
done
kill -s "$s" $t 2>/dev/null
exit 0
`

// stopGrace is how long a batch asked to stop (SIGTERM) may take to end
// before its commands are killed (SIGKILL).
var stopGrace = 10 * time.Second

// signalTimeout bounds delivering a signal: a paused or vanished host may
// not even open a session for it.
var signalTimeout = 10 * time.Second

// deadlineError is why ctx's deadline ended a batch: its cause, which
// still matches context.DeadlineExceeded.
func deadlineError(ctx context.Context) error {
	cause := context.Cause(ctx)
	if errors.Is(cause, context.DeadlineExceeded) {
		return cause
	}
	return &causedDeadline{cause}
}

type causedDeadline struct{ cause error }

func (e *causedDeadline) Error() string   { return e.cause.Error() }
func (e *causedDeadline) Unwrap() []error { return []error{e.cause, context.DeadlineExceeded} }

type killKey struct{}

// WithKill returns a context whose batches, once ctx is done, are killed at
// once (SIGKILL) if kill is closed too, rather than given a grace period
// after SIGTERM: the second Ctrl-C of a run.
func WithKill(ctx context.Context, kill <-chan struct{}) context.Context {
	return context.WithValue(ctx, killKey{}, kill)
}

func killOf(ctx context.Context) <-chan struct{} {
	k, _ := ctx.Value(killKey{}).(<-chan struct{})
	return k // nil blocks forever: no second signal
}

// sideRunner runs a short command beside the persistent shell, as the same
// user, with stdin fed to it.
type sideRunner func(ctx context.Context, argv []string, stdin []byte) error

// signalArgv is the command that sends sig to the process tree of pid, under
// sudo when the shell runs under it, and the stdin that answers sudo.
func signalArgv(b *become, marker string, sig string, pid int) ([]string, []byte) {
	argv := []string{"sh", "-c", stopScript, "optimus-stop", sig, strconv.Itoa(pid)}
	if b == nil {
		return argv, nil
	}
	var stdin []byte
	if b.password != nil {
		if pw, err := b.password(); err == nil {
			stdin = []byte(pw + "\n")
		}
	}
	return append([]string{"sudo", "-S", "-p", sudoPrompt(marker), "-u", b.user, "--"}, argv...), stdin
}

// stop ends the batch in flight once its context is done: SIGTERM to the
// shell and every process of the batch, SIGKILL after stopGrace (or at once
// when the context's kill channel closes), then the connection is closed.
// A command that traps SIGTERM gets its grace; none outlives the SIGKILL.
func (s *shell) stop(ctx context.Context, finished <-chan struct{}) {
	if s.signalTree == nil || s.pid == 0 {
		s.close()
		return
	}
	kill := killOf(ctx)
	select {
	case <-kill:
		s.signal("KILL")
		s.close()
		return
	default:
	}
	s.signal("TERM")
	grace := time.NewTimer(stopGrace)
	defer grace.Stop()
	select {
	case <-finished:
	case <-s.done:
	case <-grace.C:
		s.signal("KILL")
	case <-kill:
		s.signal("KILL")
	}
	s.close()
}

func (s *shell) signal(sig string) { s.signalTree(s.pid, sig) }

// signalVia returns how a shell signals its process tree through run.
func signalVia(run sideRunner, b *become, marker string) func(pid int, sig string) {
	return func(pid int, sig string) {
		ctx, cancel := context.WithTimeout(context.Background(), signalTimeout)
		defer cancel()
		argv, stdin := signalArgv(b, marker, sig, pid)
		_ = run(ctx, argv, stdin)
	}
}

// sshSide runs argv in a new session of conn.
func sshSide(conn ssh.Conn) sideRunner {
	return func(ctx context.Context, argv []string, stdin []byte) error {
		done := make(chan error, 1)
		go func() {
			ch, reqs, err := conn.OpenChannel("session", nil)
			if err != nil {
				done <- err
				return
			}
			go serveUnasked(nil, nil, reqs)
			ok, err := ch.SendRequest("exec", true, ssh.Marshal(&struct{ Command string }{"exec " + quoteArgs(argv)}))
			if err == nil && !ok {
				err = errors.New("the server refused the command")
			}
			if err == nil {
				_, _ = ch.Write(stdin)
				_ = ch.CloseWrite()
				_, _ = io.Copy(io.Discard, ch)
			}
			ch.Close()
			done <- err
		}()
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			// The caller closes the connection next; the goroutine ends with it.
			return fmt.Errorf("signal: %w", ctx.Err())
		}
	}
}

// execSide runs argv after prefix as a local process: through docker exec,
// or on this machine for the local transport.
func execSide(prefix []string) sideRunner {
	return func(ctx context.Context, argv []string, stdin []byte) error {
		full := append(slices.Clone(prefix), argv...)
		cmd := exec.CommandContext(ctx, full[0], full[1:]...)
		cmd.Env = os.Environ()
		cmd.Stdin = bytes.NewReader(stdin)
		return cmd.Run()
	}
}
