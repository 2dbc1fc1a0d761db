package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// smallBatch is the largest script sent as lines (see loopScript).
const smallBatch = 2048

// encodeBatch writes the batch script, wrapped in braces so that the shell
// parses all of it before running any (a truncated batch runs nothing), and
// the payloads that follow it. Each command runs in a subshell with its
// stdout and stderr passed through. A command with a payload reads it from a
// pipe fed by head -c from the shell's own stdin; what it leaves unread is
// drained, and a skipped command's payload is skipped, so the next command
// always starts at its own payload.
func encodeBatch(cmds []Command) (script []byte, payload []byte, err error) {
	var b bytes.Buffer
	var stdin bytes.Buffer
	size := 64
	for _, c := range cmds {
		size += len(c.Script) + len(c.Script)/16 + 96
	}
	b.Grow(size)
	b.WriteString("{\n")
	for i, c := range cmds {
		if strings.IndexByte(c.Script, 0) >= 0 {
			return nil, nil, fmt.Errorf("command %d: a shell script cannot contain a NUL byte", i)
		}
		for _, a := range c.After {
			if a < 0 || a >= i {
				return nil, nil, fmt.Errorf("command %d: After names command %d, which does not come before it", i, a)
			}
		}
		// The script is quoted straight into the batch: building it in
		// pieces would copy kilobytes several times per round trip.
		run := func() {
			if c.Stdin == nil {
				b.WriteString("(eval ")
				quoteTo(&b, c.Script)
				b.WriteString("\n) </dev/null")
			} else {
				fmt.Fprintf(&b, "head -c %d | { (eval ", len(c.Stdin))
				quoteTo(&b, c.Script)
				b.WriteString("\n); _oz=$?; cat >/dev/null; exit $_oz; }")
			}
			fmt.Fprintf(&b, "; _os%d=$?; _or %d $_os%d\n", i, i, i)
		}
		skip := ""
		if c.Stdin != nil {
			stdin.Write(c.Stdin)
			skip = fmt.Sprintf("head -c %d >/dev/null; ", len(c.Stdin))
		}
		if len(c.After) == 0 {
			run()
			continue
		}
		var cond []string
		for _, a := range c.After {
			cond = append(cond, fmt.Sprintf("[ \"$_os%d\" = 0 ]", a))
		}
		fmt.Fprintf(&b, "if %s; then\n", strings.Join(cond, " && "))
		run()
		fmt.Fprintf(&b, "else _os%d=K; %sprintf '\\n%%s K %d\\n' \"$_oM\"; fi\n", i, skip, i)
	}
	b.WriteString("printf '\\n%s D\\n' \"$_oM\"\n}\n")
	return b.Bytes(), stdin.Bytes(), nil
}

// batch runs cmds in one round trip. After an error other than an invalid
// batch the shell is closed: the batch may have partly run.
func (s *shell) batch(ctx context.Context, cmds []Command) ([]Result, error) {
	script, payload, err := encodeBatch(cmds)
	if err != nil {
		return nil, err
	}
	s.busy.Store(true)
	defer s.busy.Store(false)
	if s.wake != nil {
		s.wake()
	}
	// A shell that dies mid-batch may leave its stdout open in a command's
	// background child: close our end so that the read below fails.
	finished := make(chan struct{})
	// A deadline or an interrupt stops the commands on the host, not only
	// our end of the connection (see stop); the batch returns once they
	// were signalled.
	stopped := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { defer close(stopped); s.stop(ctx, finished) })
	defer func() {
		close(finished)
		if !stop() {
			<-stopped
		}
	}()
	go func() {
		select {
		case <-s.done:
			s.close()
		case <-finished:
		}
	}()
	head := make([]byte, 0, 24)
	if len(script) <= smallBatch {
		head = append(head, 'L')
		head = strconv.AppendInt(head, int64(bytes.Count(script, []byte{'\n'})), 10)
	} else {
		head = strconv.AppendInt(head, int64(len(script)), 10)
	}
	head = append(head, '\n')
	// Commands read their payloads while they run and their output must be
	// read meanwhile, so the batch is written while the results are read.
	written := make(chan error, 1)
	go func() { written <- writeChunked(s.p.stdin, head, script, payload) }()
	results := make([]Result, len(cmds))
	fail := func(done int, err error) ([]Result, error) {
		select {
		case werr := <-written:
			if werr != nil && !s.dead() {
				err = werr
			}
		default:
		}
		err = s.lost(ctx, done, len(cmds), err)
		// The shell is closed, so its stderr ends: what the finished
		// commands wrote there is read without waiting for more.
		s.readStderrs(results[:done])
		return results[:done], err
	}
	// Every command's stdout is read first, then every stderr, which a
	// goroutine drains meanwhile into memory (errOut never blocks its
	// writer). Waiting for one command's stderr while its successors'
	// stdout piled up would deadlock where both streams share one flow
	// control: docker exec multiplexes them in one stream, in an order of
	// its own, and an SSH channel's window covers both.
	for i := range cmds {
		if err := s.readResult(i, cmds[i].MaxStdout, &results[i]); err != nil {
			return fail(i, err)
		}
	}
	if body, err := s.out.readUntil(s.needle); err != nil {
		return fail(len(cmds), err)
	} else if line, err := s.out.readLine(); err != nil || len(body) != 0 || line != "D" {
		return nil, s.protocolError(fmt.Sprintf("batch end expected, got %q", line))
	}
	for i := range results {
		if err := s.readStderr(i, &results[i]); err != nil {
			return fail(len(cmds), err)
		}
	}
	// The shell has read the whole batch: the write has ended.
	if err := <-written; err != nil {
		return fail(len(cmds), err)
	}
	s.out.release()
	s.errOut.release()
	return results, nil
}

// readStderrs reads, best effort, the stderr of results: after a failure,
// so that a finished command that failed says why.
func (s *shell) readStderrs(results []Result) {
	for i := range results {
		if s.readStderr(i, &results[i]) != nil {
			return
		}
	}
}

// writeChunk bounds each write to the shell. Over SSH a connection keeps
// a buffer the size of the largest write it has sent, twice (the channel's
// packet and the cipher's output): at a thousand kept connections, writing
// a batch whole kept 30 MB of buffers for scripts long sent.
const writeChunk = 2 << 10

func writeChunked(w io.Writer, parts ...[]byte) error {
	for _, b := range parts {
		for len(b) > 0 {
			n := min(len(b), writeChunk)
			if _, err := w.Write(b[:n]); err != nil {
				return err
			}
			b = b[n:]
		}
	}
	return nil
}

// DefaultMaxStdout is how much of a command's standard output is kept
// when its Command does not say: the rest is read and dropped, and the
// Result says so (Truncated).
const DefaultMaxStdout = 64 << 20

// MaxStderr is how much of a command's standard error is kept; the Result's
// Stderr then ends with a note that says how much was dropped.
const MaxStderr = 64 << 10

// readResult reads the result of command i, keeping at most maxStdout bytes
// of its output (DefaultMaxStdout when 0).
func (s *shell) readResult(i int, maxStdout int, r *Result) error {
	if maxStdout <= 0 {
		maxStdout = DefaultMaxStdout
	}
	body, size, err := s.out.readUntilMax(s.needle, maxStdout)
	if err != nil {
		return err
	}
	line, err := s.out.readLine()
	if err != nil {
		return err
	}
	f := strings.Fields(line)
	switch {
	case len(f) == 3 && f[0] == "S" && f[1] == strconv.Itoa(i):
		code, err := strconv.Atoi(f[2])
		if err != nil {
			return s.protocolError(fmt.Sprintf("bad exit status line %q", line))
		}
		r.Stdout, r.ExitCode = body, code
		r.StdoutSize, r.Truncated = size, size > int64(len(body))
	case len(f) == 2 && f[0] == "K" && f[1] == strconv.Itoa(i):
		r.Skipped, r.ExitCode = true, -1
	default:
		return s.protocolError(fmt.Sprintf("result of command %d expected, got %q", i, line))
	}
	if len(r.Stdout) == 0 {
		r.Stdout = nil
	}
	return nil
}

// readStderr reads the stderr of command i, whose stdout readResult read
// into r: the shell ends the stderr of every command that ran with a frame
// line; a skipped command has none.
func (s *shell) readStderr(i int, r *Result) error {
	if r.Skipped {
		return nil
	}
	stderr, size, err := s.errOut.readUntilMax(s.needle, MaxStderr)
	if err != nil {
		return err
	}
	if size > int64(len(stderr)) {
		stderr = fmt.Appendf(stderr, "\n[optimus: more standard error followed; only the first %d KiB are kept]", MaxStderr>>10)
	}
	if line, err := s.errOut.readLine(); err != nil {
		return err
	} else if line != "e" {
		return s.protocolError(fmt.Sprintf("end of the stderr of command %d expected, got %q", i, line))
	}
	if len(stderr) > 0 {
		r.Stderr = stderr
	}
	return nil
}

// protocolBroken is returned by readResult for a frame that makes no sense.
type protocolBroken struct{ msg string }

func (e *protocolBroken) Error() string { return e.msg }

func (s *shell) protocolError(msg string) error { return &protocolBroken{msg: msg} }

// lost explains a failure in the middle of a batch. It is never retried: some
// commands may have run.
func (s *shell) lost(ctx context.Context, done, total int, err error) error {
	s.close()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &startError{reason: ReasonTimeout, err: fmt.Errorf("%w: the batch was stopped after %d of %d commands had finished (its processes were sent SIGTERM, then SIGKILL, and the session was closed); the command that was running may have partly run",
			deadlineError(ctx), done, total)}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("batch interrupted after %d of %d commands (its processes were signalled and the shell was closed; the command that was running may have partly run): %w", done, total, context.Cause(ctx))
	}
	var pb *protocolBroken
	if errors.As(err, &pb) {
		return &startError{reason: ReasonProtocol, err: fmt.Errorf("remote shell broke the batch protocol: %s", pb.msg)}
	}
	return &startError{reason: ReasonLost, err: fmt.Errorf("connection lost during a batch, after %d of %d commands had finished; the batch may have partly run and was not retried (%v)%s", done, total, err, s.stderrSuffix())}
}
