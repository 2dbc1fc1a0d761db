package transport

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
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
// nothing of it travels on stdin). It creates no file: everything it needs
// travels on its stdin, read with the read builtin (which reads a pipe byte
// by byte and so never takes more than its line) or with head -c (which
// reads exactly the bytes it is asked for).
//
// It first says hello, then reads the frame marker, a random nonce of the
// connection, as its first line: the marker is never in any argv, so no user
// of the host can learn it from ps, and output that a command reads from the
// host cannot forge a frame. Each batch then starts with a header line:
//
//	L<n>  n lines of script follow; read them with read too and eval them.
//	      Used for small batches: it forks nothing.
//	<n>   n bytes of script follow; head -c copies them into a variable,
//	      never a file. Used for large batches.
//
// The stdin payloads of the batch follow its script, in command order: each
// command reads its own with head -c through a pipe when it runs (see
// encodeBatch), so no byte of a payload, a secret included, is written to a
// file other than the one the command writes. A command's stdout passes
// through; its stderr goes to the shell's stderr, ended by a frame line.
//
// Its variables start with _o so that commands do not trip over them.
//
// _oiso (see Isolate) runs a command that the host's users may reach into
// with fresh descriptors: its stdout and stderr are pipes read by two
// relays (awk) that copy at most relayLimit bytes each to the shell's own
// output and stop at a line the shell writes after the command has ended.
// That line carries the marker, which awk takes from its environment (no
// user can read a root process's environment, unlike its argv), so nothing
// the command or a descendant writes can end the relay early or pass for
// another command's output; once the relay has stopped, a descriptor a
// descendant kept leads nowhere. The line follows a newline of its own: a
// last line left non-empty before it had none, so the output comes through
// byte for byte. The command's stdin is what the caller
// gave (/dev/null, or a pipe of its own payload), never the shell's.
const loopScript = `trap 'exit 129' HUP INT TERM PIPE
printf 'optimus-shell\n'
IFS= read -r _oM || exit 70
_or() {
	printf '\n%s e\n' "$_oM" >&2
	printf '\n%s S %d %d\n' "$_oM" "$1" "$2"
}
_oA='BEGIN { m = ENVIRON["_oM"] " U "; lim = ` + relayLimit + ` }
index($0, m) == 1 { if (p && q != "") put(""); done = 1; exit substr($0, length(m) + 1) + 0 }
{ if (p) put("\n"); q = $0; p = 1 }
function put(nl) { n += length(q) + 1; if (n <= lim) printf "%s%s", q, nl; else if (!cut) { cut = 1; print "optimus: output cut at " lim " bytes" > "/dev/stderr" } }
END { if (!done) exit 125 }'
_oiso() {
	{ { "$@" 2>&1 1>&5 5>&-; printf '\n%s U %d\n' "$_oM" $? >&5; printf '\n%s U 0\n' "$_oM"; } | _oM=$_oM awk "$_oA" >&2 5>&-; } 5>&1 | _oM=$_oM awk "$_oA"
}
printf '%s R %d\n' "$_oM" "$$"
printf '\n%s r\n' "$_oM" >&2
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
		_ob=$(head -c "$_on"; echo .) || exit 71
		eval "${_ob%.}"
		;;
	esac
done
`

// relayLimit is how much of each output stream of an isolated command
// reaches Optimus (see Isolate); the rest is dropped with a note.
const relayLimit = "1048576"

// Isolate returns a shell command that runs command (shell words, such as
// Quote builds) with fresh descriptors: whatever the command or any of its
// descendants writes reaches Optimus only as this command's output, bounded,
// and only while the command runs. Every command that runs as a host user,
// or that starts programs which may outlive it (services, package scripts,
// user-supplied commands), must run this way, or a process keeping the
// shell's output could forge the results of later commands. Its exit status
// is the command's; 125 means the relay was cut short.
func Isolate(command string) string { return "_oiso " + command }

// helloLine is what the shell prints before it reads the marker.
const helloLine = "optimus-shell\n"

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
	// side, when set, runs a command beside the shell: how a batch in
	// flight is stopped (see shell.stop).
	side sideRunner
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
	errOut *frameReader // the shell's stderr: each command's, then a frame line
	stderr *tailBuffer
	done   <-chan struct{} // closed when the shell ended
	once   sync.Once
	closed atomic.Bool
	busy   atomic.Bool // a batch is in flight
	// pid is the shell's process ID on the host, as it said when ready.
	pid int
	// signalTree sends a signal to the process tree of pid; nil when the
	// shell cannot be reached beside its session.
	signalTree func(pid int, sig string)
}

func newMarker() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "OPTIMUS-" + hex.EncodeToString(b)
}

// shellArgv is the command that starts the persistent shell. The marker is
// not in it: startShell sends it on stdin.
func shellArgv(_ string, b *become, prompt string) []string {
	argv := []string{"sh", "-c", loopScript, "optimus"}
	if b != nil {
		argv = append([]string{"sudo", "-S", "-p", prompt, "-u", b.user, "--"}, argv...)
	}
	return argv
}

// sudoPrompt is what sudo prints (to stderr) when it wants the password. It
// is in sudo's argv, so it is derived from the marker one way.
func sudoPrompt(marker string) string {
	sum := sha256.Sum256([]byte("sudo-prompt:" + marker))
	return "[sudo-" + hex.EncodeToString(sum[:12]) + "]"
}

// startShell waits until the shell started by p is ready, answering sudo's
// password prompt on the way, and gives up at deadline.
func startShell(p process, marker string, b *become, deadline time.Time) (*shell, error) {
	errs := newPipeBuffer([]byte("\n"+marker+" "), MaxStderr)
	s := &shell{
		p:      p,
		marker: marker,
		needle: []byte("\n" + marker + " "),
		out:    &frameReader{r: p.stdout},
		errOut: &frameReader{r: errs},
		stderr: &tailBuffer{max: 4096},
		done:   p.done,
	}
	prompts := make(chan struct{}, 4)
	if b != nil {
		s.stderr.watch = []byte(sudoPrompt(marker))
		s.stderr.seen = prompts
	}
	go func() {
		// The shell's stderr carries each command's stderr during a batch
		// and the shell's own (sudo's prompt) between batches: a small
		// buffer, instead of io.Copy's 32 KiB held for the life of every
		// connection. The wrapper keeps an *os.File's WriteTo, which would
		// allocate that buffer anyway, out of the way.
		buf := make([]byte, 512)
		_, err := io.CopyBuffer(io.MultiWriter(s.stderr, errs), struct{ io.Reader }{p.stderr}, buf)
		errs.closeWithError(cmp.Or(err, io.EOF))
		if p.stderrEnded != nil {
			p.stderrEnded()
		}
	}()
	ready := make(chan error, 1)
	go func() {
		// Nothing the host's users control writes to stdout before the
		// shell reads the marker.
		if _, err := s.out.readUntil([]byte(helloLine)); err != nil {
			ready <- err
			return
		}
		if _, err := io.WriteString(p.stdin, marker+"\n"); err != nil {
			ready <- err
			return
		}
		_, err := s.out.readUntil([]byte(marker + " R "))
		if err == nil {
			var line string
			if line, err = s.out.readLine(); err == nil {
				s.pid, _ = strconv.Atoi(line)
			}
		}
		if err == nil {
			_, err = s.errOut.readUntil([]byte("\n" + marker + " r\n"))
		}
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
				if p.side != nil {
					s.signalTree = signalVia(p.side, b, marker)
				}
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

// closeGently lets the shell see the end of its input and exit before
// closing it.
func (s *shell) closeGently() {
	s.p.stdin.Close()
	select {
	case <-s.done:
	case <-time.After(time.Second):
	}
	s.close()
}

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
		return results[:done], s.lost(ctx, done, len(cmds), err)
	}
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
	// The shell has read the whole batch: the write has ended.
	if err := <-written; err != nil {
		return fail(len(cmds), err)
	}
	s.out.release()
	s.errOut.release()
	return results, nil
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
		// The shell ended the command's stderr before printing its status.
		var errSize int64
		if r.Stderr, errSize, err = s.errOut.readUntilMax(s.needle, MaxStderr); err != nil {
			return err
		}
		if errSize > int64(len(r.Stderr)) {
			r.Stderr = fmt.Appendf(r.Stderr, "\n[optimus: more standard error followed; only the first %d KiB are kept]", MaxStderr>>10)
		}
		if line, err := s.errOut.readLine(); err != nil {
			return err
		} else if line != "e" {
			return s.protocolError(fmt.Sprintf("end of the stderr of command %d expected, got %q", i, line))
		}
	case len(f) == 2 && f[0] == "K" && f[1] == strconv.Itoa(i):
		r.Skipped, r.ExitCode = true, -1
	default:
		return s.protocolError(fmt.Sprintf("result of command %d expected, got %q", i, line))
	}
	if len(r.Stdout) == 0 {
		r.Stdout = nil
	}
	if len(r.Stderr) == 0 {
		r.Stderr = nil
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

// readUntil returns the bytes before sep and consumes sep. Protocol lines
// and what the shell prints before it is ready are short: more than
// maxProtocolRead bytes without sep is an error, not a buffer that grows.
func (f *frameReader) readUntil(sep []byte) ([]byte, error) {
	out, n, err := f.readUntilMax(sep, maxProtocolRead)
	if err == nil && n > int64(len(out)) {
		return nil, &protocolBroken{msg: fmt.Sprintf("more than %d bytes without a frame line", maxProtocolRead)}
	}
	return out, err
}

// maxProtocolRead bounds the reads of readUntil.
const maxProtocolRead = 1 << 20

// readUntilMax returns at most limit of the bytes before sep and consumes
// them all and sep; n is how many there were. The bytes past limit are read
// and dropped as they come, so that what a host sends never holds more than
// limit (and a buffer) in memory, however much it sends.
func (f *frameReader) readUntilMax(sep []byte, limit int) (out []byte, n int64, err error) {
	searched := 0 // bytes of the pending data known not to hold sep
	var kept []byte
	for {
		pending := f.buf[f.start:f.end]
		if i := bytes.Index(pending[searched:], sep); i >= 0 {
			end := searched + i
			n += int64(end)
			take := pending[:min(end, limit-len(kept))]
			if kept == nil {
				kept = bytes.Clone(take)
			} else {
				kept = appendKept(kept, take, limit)
			}
			f.start += end + len(sep)
			return kept, n, nil
		}
		searched = max(0, len(pending)-len(sep)+1)
		// A long output moves out of the buffer as it comes: kept up to
		// the limit, the rest dropped, and the buffer never grows.
		if searched >= readBufferSize/2 {
			kept = appendKept(kept, pending[:min(searched, limit-len(kept))], limit)
			n += int64(searched)
			f.start += searched
			searched = 0
		}
		if err := f.fill(); err != nil {
			return nil, n, err
		}
	}
}

// appendKept appends b to kept, growing it no further than limit.
func appendKept(kept, b []byte, limit int) []byte {
	if need := len(kept) + len(b); need > cap(kept) {
		grown := make([]byte, len(kept), min(max(2*cap(kept), need, readBufferSize), max(limit, need)))
		copy(grown, kept)
		kept = grown
	}
	return append(kept, b...)
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

// pipeBuffer is an in-memory pipe whose writes never block (so the shell's
// stderr is always drained, even between batches, and even while a batch's
// stdout is read), and reads wait for data or the end. It is bounded by
// segment: of the bytes written after the last sep (a frame line that ends
// a command's stderr), only the first max and the last len(sep)-1 (which
// may start the next sep) are kept, so a command that floods its stderr
// costs max bytes, and the reader still sees every sep and that bytes
// were dropped.
type pipeBuffer struct {
	mu   sync.Mutex
	cond *sync.Cond
	buf  []byte
	err  error
	sep  []byte
	max  int
	seg  int // where the current segment starts in buf
}

func newPipeBuffer(sep []byte, max int) *pipeBuffer {
	p := &pipeBuffer{sep: sep, max: max}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *pipeBuffer) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	from := max(p.seg, len(p.buf)-len(p.sep)+1)
	p.buf = append(p.buf, b...)
	for {
		i := bytes.Index(p.buf[from:], p.sep)
		if i < 0 {
			break
		}
		p.seg = from + i + len(p.sep)
		from = p.seg
	}
	tail := len(p.sep) - 1
	if over := len(p.buf) - p.seg - p.max - tail; over > 0 {
		drop := p.seg + p.max
		p.buf = append(p.buf[:drop], p.buf[drop+over:]...)
	}
	p.cond.Broadcast()
	return len(b), nil
}

func (p *pipeBuffer) closeWithError(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err = err
	p.cond.Broadcast()
}

func (p *pipeBuffer) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.buf) == 0 && p.err == nil {
		p.cond.Wait()
	}
	if len(p.buf) == 0 {
		return 0, p.err
	}
	n := copy(b, p.buf)
	p.buf = p.buf[n:]
	p.seg = max(0, p.seg-n)
	if len(p.buf) == 0 {
		p.buf = nil
	}
	return n, nil
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
