package transport

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loopScript is the persistent shell, passed as the argument of sh -c (so
// nothing of it travels on stdin). Each batch starts with a header line read
// by the read builtin, which reads a pipe byte by byte and so never takes
// more than its line:
//
//	L<n>  n lines of script follow; read them with read too and eval them.
//	      Used for small batches: it forks nothing.
//	<n>   n bytes of script follow; head -c, which never reads past them
//	      (GNU head reads exactly the bytes it needs), copies them to a file
//	      that is sourced. Used for large batches, where reading byte by
//	      byte would cost more than one fork.
//
// Its variables start with _o so that commands do not trip over them.
const loopScript = `_oM=$1; shift
_oD=$(mktemp -d "${TMPDIR:-/tmp}/optimus.XXXXXX") || exit 70
trap 'rm -rf "$_oD"' EXIT
trap 'exit 129' HUP INT TERM PIPE
_or() {
	if [ -s "$_oD/e" ]; then printf '\n%s E\n' "$_oM"; cat "$_oD/e"; fi
	printf '\n%s S %d %d\n' "$_oM" "$1" "$2"
}
printf '%s R\n' "$_oM"
while IFS= read -r _on; do
	case $_on in
	L*)
		_oi=${_on#L} _ob=
		while [ "$_oi" -gt 0 ]; do
			IFS= read -r _ol || exit 71
			_ob="$_ob$_ol
"
			_oi=$((_oi - 1))
		done
		eval "$_ob"
		;;
	*)
		head -c "$_on" >"$_oD/b" || exit 71
		. "$_oD/b"
		;;
	esac
done
`

// smallBatch is the largest script sent as lines (see loopScript).
const smallBatch = 2048

// process is a running persistent shell, whatever carries it.
type process struct {
	stdin  io.WriteCloser
	stdout io.Reader
	stderr io.Reader
	// abort ends the shell at once (kills it or closes its connection).
	abort func()
	// done is closed when the shell has ended. A channel rather than a
	// blocking call, so that no goroutine per connection waits on it.
	done <-chan struct{}
	// stderrEnded, when set, is called once the shell's stderr is read to
	// its end, from the goroutine that reads it: an opener whose stderr
	// ends with the shell can wait for the end there rather than in a
	// goroutine of its own.
	stderrEnded func()
}

// become says how to start the shell under sudo.
type become struct {
	user     string
	login    string // the user sudo asks the password of, for messages
	password func() (string, error)
}

// shell speaks the batch protocol with one persistent shell.
type shell struct {
	p      process
	marker string
	needle []byte // "\n" + marker + " ": starts every frame line
	out    *frameReader
	stderr *tailBuffer
	done   <-chan struct{} // closed when the shell ended
	once   sync.Once
	closed atomic.Bool
	busy   atomic.Bool // a batch is in flight
}

func newMarker() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "OPTIMUS-" + hex.EncodeToString(b)
}

// shellArgv is the command that starts the persistent shell.
func shellArgv(marker string, b *become, prompt string) []string {
	argv := []string{"sh", "-c", loopScript, "optimus", marker}
	if b != nil {
		argv = append([]string{"sudo", "-S", "-p", prompt, "-u", b.user, "--"}, argv...)
	}
	return argv
}

// sudoPrompt is what sudo prints (to stderr) when it wants the password.
func sudoPrompt(marker string) string { return "[sudo-" + marker + "]" }

// startShell waits until the shell started by p is ready, answering sudo's
// password prompt on the way, and gives up at deadline.
func startShell(p process, marker string, b *become, deadline time.Time) (*shell, error) {
	s := &shell{
		p:      p,
		marker: marker,
		needle: []byte("\n" + marker + " "),
		out:    &frameReader{r: p.stdout},
		stderr: &tailBuffer{max: 4096},
		done:   p.done,
	}
	prompts := make(chan struct{}, 4)
	if b != nil {
		s.stderr.watch = []byte(sudoPrompt(marker))
		s.stderr.seen = prompts
	}
	go func() {
		// The shell's own stderr is small (sudo's prompt, its own errors):
		// a small buffer, instead of io.Copy's 32 KiB held for the life of
		// every connection. The wrapper keeps an *os.File's WriteTo, which
		// would allocate that buffer anyway, out of the way.
		buf := make([]byte, 512)
		_, _ = io.CopyBuffer(s.stderr, struct{ io.Reader }{p.stderr}, buf)
		if p.stderrEnded != nil {
			p.stderrEnded()
		}
	}()
	ready := make(chan error, 1)
	go func() {
		_, err := s.out.readUntil([]byte(marker + " R\n"))
		ready <- err
	}()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	fail := func(r Reason, err error) (*shell, error) {
		s.close()
		<-ready
		return nil, &startError{reason: r, err: err}
	}
	answered := 0
	for {
		select {
		case err := <-ready:
			if err == nil {
				s.out.release()
				return s, nil
			}
			// The shell ended; let its stderr arrive before quoting it.
			select {
			case <-s.done:
			case <-time.After(time.Second):
			}
			s.close()
			return nil, &startError{reason: ReasonUnreachable, err: fmt.Errorf("the remote shell ended before it was ready%s", s.stderrSuffix())}
		case <-prompts:
			if answered > 0 {
				return fail(ReasonBecome, fmt.Errorf("sudo rejected the password from become.passwordFrom (sudo wants the password of %s, the login user)", b.login))
			}
			if b.password == nil {
				return fail(ReasonBecome, fmt.Errorf("sudo asks %s for a password to become %s; set become.passwordFrom, or allow NOPASSWD in sudoers", b.login, b.user))
			}
			pw, err := b.password()
			if err != nil {
				return fail(ReasonConfig, fmt.Errorf("become.passwordFrom: %w", err))
			}
			answered++
			// Only sudo reads this: the shell has not started yet.
			if _, err := io.WriteString(p.stdin, pw+"\n"); err != nil {
				return fail(ReasonLost, fmt.Errorf("send sudo password: %w", err))
			}
		case <-timer.C:
			return fail(ReasonTimeout, errors.New("the remote shell did not start in time"))
		}
	}
}

// startError is a startShell failure before the caller adds the host.
type startError struct {
	reason Reason
	err    error
}

func (e *startError) Error() string { return e.err.Error() }

func (s *shell) stderrSuffix() string {
	if t := strings.TrimSpace(s.stderr.String()); t != "" {
		return ": " + t
	}
	return ""
}

// dead reports whether the shell has ended or been closed.
func (s *shell) dead() bool {
	if s.closed.Load() {
		return true
	}
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// close ends the shell at once. It may run in any goroutine, so it leaves
// stdin to abort (x/crypto/ssh cannot close a channel's write side while
// another goroutine writes to it).
func (s *shell) close() {
	s.closed.Store(true)
	s.once.Do(s.p.abort)
}

// closeGently lets the shell see the end of its input and clean up its
// temporary directory before closing it.
func (s *shell) closeGently() {
	s.p.stdin.Close()
	select {
	case <-s.done:
	case <-time.After(time.Second):
	}
	s.close()
}

// encodeBatch writes the batch script: payloads first (read into files
// before any command runs, so no command can meet the protocol on stdin),
// then each command in a subshell with its stdout passed through and its
// stderr kept in a file that is only cat'ed when non-empty.
func encodeBatch(cmds []Command) (script []byte, payload []byte, err error) {
	var b bytes.Buffer
	var stdin bytes.Buffer
	for i, c := range cmds {
		if strings.IndexByte(c.Script, 0) >= 0 {
			return nil, nil, fmt.Errorf("command %d: a shell script cannot contain a NUL byte", i)
		}
		for _, a := range c.After {
			if a < 0 || a >= i {
				return nil, nil, fmt.Errorf("command %d: After names command %d, which does not come before it", i, a)
			}
		}
		if c.Stdin != nil {
			fmt.Fprintf(&b, "head -c %d >\"$_oD/i%d\"\n", len(c.Stdin), i)
			stdin.Write(c.Stdin)
		}
	}
	for i, c := range cmds {
		in := "/dev/null"
		if c.Stdin != nil {
			in = fmt.Sprintf("\"$_oD/i%d\"", i)
		}
		run := fmt.Sprintf("(eval %s\n) <%s 2>\"$_oD/e\"; _os%d=$?; _or %d $_os%d\n", Quote(c.Script), in, i, i, i)
		if len(c.After) == 0 {
			b.WriteString(run)
			continue
		}
		var cond []string
		for _, a := range c.After {
			cond = append(cond, fmt.Sprintf("[ \"$_os%d\" = 0 ]", a))
		}
		fmt.Fprintf(&b, "if %s; then\n%selse _os%d=K; printf '\\n%%s K %d\\n' \"$_oM\"; fi\n", strings.Join(cond, " && "), run, i, i)
	}
	if stdin.Len() > 0 {
		b.WriteString("rm -f \"$_oD\"/i*\n")
	}
	b.WriteString("printf '\\n%s D\\n' \"$_oM\"\n")
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
	stop := context.AfterFunc(ctx, s.close)
	defer stop()
	// A shell that dies mid-batch may leave its stdout open in a command's
	// background child: close our end so that the read below fails.
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-s.done:
			s.close()
		case <-finished:
		}
	}()
	msg := make([]byte, 0, 24+len(script)+len(payload))
	if len(script) <= smallBatch {
		msg = append(msg, 'L')
		msg = strconv.AppendInt(msg, int64(bytes.Count(script, []byte{'\n'})), 10)
	} else {
		msg = strconv.AppendInt(msg, int64(len(script)), 10)
	}
	msg = append(msg, '\n')
	msg = append(msg, script...)
	msg = append(msg, payload...)
	if _, err := s.p.stdin.Write(msg); err != nil {
		return nil, s.lost(ctx, 0, len(cmds), err)
	}
	results := make([]Result, len(cmds))
	for i := range cmds {
		if err := s.readResult(i, &results[i]); err != nil {
			return nil, s.lost(ctx, i, len(cmds), err)
		}
	}
	if body, err := s.out.readUntil(s.needle); err != nil {
		return nil, s.lost(ctx, len(cmds), len(cmds), err)
	} else if line, err := s.out.readLine(); err != nil || len(body) != 0 || line != "D" {
		return nil, s.protocolError(fmt.Sprintf("batch end expected, got %q", line))
	}
	s.out.release()
	return results, nil
}

func (s *shell) readResult(i int, r *Result) error {
	body, err := s.out.readUntil(s.needle)
	if err != nil {
		return err
	}
	line, err := s.out.readLine()
	if err != nil {
		return err
	}
	if line == "E" {
		if r.Stderr, err = s.out.readUntil(s.needle); err != nil {
			return err
		}
		if line, err = s.out.readLine(); err != nil {
			return err
		}
	}
	f := strings.Fields(line)
	switch {
	case len(f) == 3 && f[0] == "S" && f[1] == strconv.Itoa(i):
		code, err := strconv.Atoi(f[2])
		if err != nil {
			return s.protocolError(fmt.Sprintf("bad exit status line %q", line))
		}
		r.Stdout, r.ExitCode = body, code
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

// protocolBroken is returned by readResult for a frame that makes no sense.
type protocolBroken struct{ msg string }

func (e *protocolBroken) Error() string { return e.msg }

func (s *shell) protocolError(msg string) error { return &protocolBroken{msg: msg} }

// lost explains a failure in the middle of a batch. It is never retried: some
// commands may have run.
func (s *shell) lost(ctx context.Context, done, total int, err error) error {
	s.close()
	if ctx.Err() != nil {
		return fmt.Errorf("batch interrupted after %d of %d commands (the shell was closed; the others may have partly run): %w", done, total, context.Cause(ctx))
	}
	var pb *protocolBroken
	if errors.As(err, &pb) {
		return &startError{reason: ReasonProtocol, err: fmt.Errorf("remote shell broke the batch protocol: %s", pb.msg)}
	}
	return &startError{reason: ReasonLost, err: fmt.Errorf("connection lost during a batch, after %d of %d commands had finished; the batch may have partly run and was not retried (%v)%s", done, total, err, s.stderrSuffix())}
}

// frameReader reads a byte stream cut by marker lines. Its buffer is
// borrowed from readBuffers while a batch is read and given back after it,
// so that an idle connection (optimus-controller keeps one per host) holds
// no read buffer.
type frameReader struct {
	r          io.Reader
	buf        []byte // buf[start:end] is read and not yet consumed
	start, end int
}

// readBufferSize is the size of a pooled read buffer: a host's observe
// output usually fits, and a larger one grows a buffer of its own.
const readBufferSize = 32 << 10

// minRead is the least free space a read is given.
const minRead = 4 << 10

var readBuffers = sync.Pool{New: func() any {
	b := make([]byte, readBufferSize)
	return &b
}}

// readUntil returns the bytes before sep and consumes sep.
func (f *frameReader) readUntil(sep []byte) ([]byte, error) {
	searched := 0 // bytes of the pending data known not to hold sep
	for {
		pending := f.buf[f.start:f.end]
		if i := bytes.Index(pending[searched:], sep); i >= 0 {
			n := searched + i
			out := bytes.Clone(pending[:n])
			f.start += n + len(sep)
			return out, nil
		}
		searched = max(0, len(pending)-len(sep)+1)
		if err := f.fill(); err != nil {
			return nil, err
		}
	}
}

// readLine returns the rest of the line without its newline.
func (f *frameReader) readLine() (string, error) {
	b, err := f.readUntil([]byte{'\n'})
	return string(b), err
}

// fill reads more of the stream after the pending bytes, moving them to the
// front of the buffer or into a larger one when there is no room.
func (f *frameReader) fill() error {
	if f.buf == nil {
		f.buf = *readBuffers.Get().(*[]byte)
	}
	if len(f.buf)-f.end < minRead {
		pending := f.end - f.start
		if len(f.buf)-pending < minRead {
			grown := make([]byte, 2*len(f.buf))
			copy(grown, f.buf[f.start:f.end])
			f.buf = grown
		} else {
			copy(f.buf, f.buf[f.start:f.end])
		}
		f.start, f.end = 0, pending
	}
	n, err := f.r.Read(f.buf[f.end:])
	f.end += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// release gives the buffer back once everything read has been consumed,
// as at the end of a batch.
func (f *frameReader) release() {
	if f.buf == nil || f.start < f.end {
		return
	}
	if len(f.buf) == readBufferSize {
		b := f.buf
		readBuffers.Put(&b)
	}
	f.buf, f.start, f.end = nil, 0, 0
}

// tailBuffer keeps the end of the shell's own stderr for error messages and
// reports each occurrence of watch (sudo's prompt).
type tailBuffer struct {
	mu    sync.Mutex
	max   int
	buf   []byte
	watch []byte
	seen  chan<- struct{}
	carry []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if len(t.watch) > 0 {
		scan := append(t.carry, p...)
		for {
			i := bytes.Index(scan, t.watch)
			if i < 0 {
				break
			}
			scan = scan[i+len(t.watch):]
			select {
			case t.seen <- struct{}{}:
			default:
			}
		}
		t.carry = bytes.Clone(scan[max(0, len(scan)-len(t.watch)+1):])
		// The prompt is not an error message.
		p = bytes.ReplaceAll(p, t.watch, nil)
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return n, nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
