package transport

import (
	"cmp"
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
	// wake tells the connection's keepalive that a batch started; nil
	// when nothing probes the connection.
	wake func()
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

// stderrSuffix quotes the shell's own last words for an error message:
// what its stderr said after the last frame line, never a frame line (the
// marker is the connection's secret) nor what earlier commands wrote, which
// is theirs and reported with their results.
func (s *shell) stderrSuffix() string {
	t := s.stderr.String()
	if len(t) >= s.stderr.max {
		// The tail may start in the middle of a frame line.
		if nl := strings.IndexByte(t, '\n'); nl >= 0 {
			t = t[nl+1:]
		}
	}
	if i := strings.LastIndex(t, s.marker); i >= 0 {
		t = t[i+len(s.marker):]
		if nl := strings.IndexByte(t, '\n'); nl >= 0 {
			t = t[nl+1:]
		} else {
			t = ""
		}
	}
	t = strings.TrimSpace(t)
	if len(t) > maxLastWords {
		t = "..." + t[len(t)-maxLastWords:]
	}
	if t != "" {
		return ": " + t
	}
	return ""
}

// maxLastWords bounds what stderrSuffix quotes.
const maxLastWords = 300

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
