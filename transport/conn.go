package transport

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// opener starts a persistent shell on a host.
type opener interface {
	open(ctx context.Context) (*shell, error)
	// where names the host's address in errors.
	where() string
	close()
}

// conn is a Conn over any opener. It reopens a shell that died between
// batches, once per batch, and never reruns a batch that failed midway.
type conn struct {
	host   string
	o      opener
	sh     *shell
	closed bool
}

var _ Conn = (*conn)(nil)

// dialOpener opens the first shell of a connection through o.
func dialOpener(ctx context.Context, host string, o opener) (Conn, error) {
	c := &conn{host: host, o: o}
	if err := c.reopen(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// withDefaults returns a defaulted copy of h's spec, leaving h untouched.
func withDefaults(h *v1alpha1.Host) *v1alpha1.HostSpec {
	s := *h.Spec
	if s.Become != nil {
		b := *s.Become
		s.Become = &b
	}
	// No metadata: Default would label it, and hosts are dialled
	// concurrently (a bastion by every host behind it).
	s.Default(nil)
	return &s
}

func (c *conn) reopen(ctx context.Context) error {
	sh, err := c.o.open(ctx)
	if err != nil {
		return c.wrap(err)
	}
	c.sh = sh
	return nil
}

// wrap makes err a ConnectError that names the host.
func (c *conn) wrap(err error) error {
	var ce *ConnectError
	if errors.As(err, &ce) {
		return err
	}
	var he *hopError
	if errors.As(err, &he) {
		var se *startError
		if !errors.As(he.err, &se) {
			return err
		}
		return &ConnectError{Host: c.host, Via: he.hop.name, Addr: he.hop.where(), Reason: se.reason, Err: se.err}
	}
	var se *startError
	if errors.As(err, &se) {
		return &ConnectError{Host: c.host, Addr: c.o.where(), Reason: se.reason, Err: se.err}
	}
	return err
}

func (c *conn) Batch(ctx context.Context, cmds []Command) ([]Result, error) {
	if c.closed {
		return nil, fmt.Errorf("host %s: batch on a closed connection", c.host)
	}
	if len(cmds) == 0 {
		return nil, nil
	}
	// A run that was interrupted or is out of time starts nothing new.
	if err := ctx.Err(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, &ConnectError{Host: c.host, Addr: c.o.where(), Reason: ReasonTimeout, Err: fmt.Errorf("%w: nothing of the batch was sent", deadlineError(ctx))}
		}
		return nil, fmt.Errorf("host %s: batch not sent: %w", c.host, context.Cause(ctx))
	}
	if c.sh == nil || c.sh.dead() {
		// Nothing of this batch was sent: reconnecting is safe.
		if c.sh != nil {
			c.sh.close()
			c.sh = nil
		}
		if err := c.reopen(ctx); err != nil {
			return nil, err
		}
	}
	res, err := c.sh.batch(ctx, cmds)
	if err != nil {
		// A batch that failed midway closed the shell; an invalid batch did not.
		if c.sh.dead() {
			c.sh.close()
			c.sh = nil
		}
		return res, c.wrap(err)
	}
	return res, nil
}

func (c *conn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	if c.sh != nil {
		c.sh.closeGently()
	}
	c.o.close()
	return nil
}

// becomeOf returns how to start the shell under sudo, or nil.
func becomeOf(spec *v1alpha1.HostSpec, login string) *become {
	if spec.Become == nil {
		return nil
	}
	b := &become{user: spec.Become.User, login: login}
	if src := spec.Become.PasswordFrom; src != nil {
		b.password = src.Resolve
	}
	return b
}

// execOpener runs the shell as a local process: sh itself, or inside a
// command such as docker exec -i.
type execOpener struct {
	desc   string
	spec   *v1alpha1.HostSpec
	prefix []string // runs the shell; empty: sh on this machine
	login  string   // who the shell runs as, for sudo's messages
}

func (o *execOpener) where() string { return o.desc }
func (o *execOpener) close()        {}

func (o *execOpener) open(ctx context.Context) (*shell, error) {
	marker := newMarker()
	b := becomeOf(o.spec, o.login)
	argv := append(slices.Clone(o.prefix), shellArgv(marker, b, sudoPrompt(marker))...)
	// The process outlives ctx, which only bounds the start.
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = os.Environ()
	p, err := startProcess(cmd)
	if err != nil {
		return nil, &startError{reason: ReasonUnreachable, err: fmt.Errorf("start %s: %w", argv[0], err)}
	}
	p.side = execSide(o.prefix)
	deadline := deadlineOf(ctx, o.spec.ConnectTimeout.Duration)
	stop := context.AfterFunc(ctx, p.abort)
	defer stop()
	return startShell(p, marker, b, deadline)
}

// startProcess starts cmd with pipes the shell owns. Unlike cmd.Wait, which
// waits for every holder of stdout (a command's background child), the
// shell counts as ended when the process exits, and abort closes our ends
// so that no read blocks.
func startProcess(cmd *exec.Cmd) (process, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return process{}, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return process{}, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return process{}, err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	err = cmd.Start()
	inR.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		errR.Close()
		return process{}, err
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	return process{
		stdin: inW, stdout: outR, stderr: errR,
		abort: func() {
			cmd.Process.Kill()
			inW.Close()
			outR.Close()
			errR.Close()
		},
		done: exited,
	}, nil
}
