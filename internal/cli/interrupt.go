package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/transport"
)

// killWait bounds how long a run may take to wind down after the second
// signal killed the commands on the hosts: a host that cannot even be
// reached to deliver the kill must not hold the terminal.
const killWait = 20 * time.Second

// interrupts turns SIGINT and SIGTERM into the stops of a run. The first
// cancels the run: no new round trip starts, and the commands running on
// the hosts are sent SIGTERM. The second kills them (SIGKILL) and the
// process exits once the run has wound down, or after killWait.
type interrupts struct {
	ch   chan os.Signal
	kill chan struct{}
	done chan struct{}

	mu    sync.Mutex
	first os.Signal
}

// watchInterrupts starts watching for SIGINT and SIGTERM; stop ends it.
func watchInterrupts(parent context.Context, stderr io.Writer, name string) (*interrupts, context.Context, func()) {
	in := &interrupts{ch: make(chan os.Signal, 2), kill: make(chan struct{}), done: make(chan struct{})}
	ctx, cancel := context.WithCancelCause(parent)
	ctx = transport.WithKill(ctx, in.kill)
	signal.Notify(in.ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		for n := 0; ; n++ {
			var sig os.Signal
			select {
			case sig = <-in.ch:
			case <-in.done:
				return
			}
			if n == 0 {
				in.mu.Lock()
				in.first = sig
				in.mu.Unlock()
				fmt.Fprintf(stderr, "\n%s: %s: stopping; no new work starts and the commands running on the hosts are sent SIGTERM (send %s again to kill them)\n",
					name, signalName(sig), signalName(sig))
				cancel(fmt.Errorf("interrupted by %s", signalName(sig)))
				continue
			}
			if n == 1 {
				fmt.Fprintf(stderr, "\n%s: %s again: killing the commands still running on the hosts (SIGKILL)\n", name, signalName(sig))
				close(in.kill)
				code := in.exitCode()
				time.AfterFunc(killWait, func() {
					fmt.Fprintf(stderr, "%s: the run did not wind down within %s of the kill; exiting\n", name, killWait)
					os.Exit(code)
				})
			}
		}
	}()
	return in, ctx, func() {
		signal.Stop(in.ch)
		close(in.done)
		cancel(nil)
	}
}

// signal is the first signal received, or nil.
func (in *interrupts) signal() os.Signal {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.first
}

// exitCode is the status of a run the first signal interrupted, as a shell
// reports a process that signal ended: 130 for SIGINT, 143 for SIGTERM.
func (in *interrupts) exitCode() int {
	if s, ok := in.signal().(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 0
}

// code is the exit status of a run that ended with report: the signal's
// when a signal interrupted it, otherwise code.
func (in *interrupts) code(report *controller.Report, code int) int {
	if report != nil && report.Interrupted && in.signal() != nil {
		return in.exitCode()
	}
	return code
}

func signalName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// printInterrupted says, host by host, what an interrupted run did and what
// it did not.
func printInterrupted(p *printer, r *controller.Report, sig os.Signal) {
	by := "Interrupted"
	if sig != nil {
		by += " by " + signalName(sig)
	}
	fmt.Fprintf(p.w, "%s: no new work was started; commands running on the hosts were stopped. Per host:\n", by)
	for _, h := range r.Hosts {
		switch {
		case h.State == controller.HostInterrupted && h.Changed == 0 && h.Failed == 0 && h.NotRun == 0:
			fmt.Fprintf(p.w, "  %s: not (fully) observed; no action was run\n", h.Host)
		case h.State == controller.HostConverged && h.Changed == 0:
			fmt.Fprintf(p.w, "  %s: nothing to do\n", h.Host)
		default:
			fmt.Fprintf(p.w, "  %s: %d %s done, %d failed or stopped, %d not run\n", h.Host, h.Changed, plural(h.Changed, "action", "actions"), h.Failed, h.NotRun)
		}
	}
}
