package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/optimus-cm/optimus/controller"
)

// progress shows how a long apply or diff is getting on, on stderr: on a
// terminal one line redrawn in place and cleared at the end; elsewhere (a
// CI log), for runs over many hosts, a line every ten seconds. A run shorter
// than the first interval prints nothing.
type progress struct {
	w        io.Writer
	tty      bool
	total    int
	interval time.Duration
	start    time.Time

	mu       sync.Mutex
	running  map[string]hostState // hosts in a phase now
	observed map[string]bool      // hosts observed in the current cycle
	failed   map[string]bool
	acted    int
	cycle    int
	drawn    bool // a line is on the terminal
	paused   bool
	stop     chan struct{}
	done     chan struct{}
}

// logProgressHosts is the fewest hosts for which progress lines go to a
// log: a small run's output stays as it was.
const logProgressHosts = 50

type hostState struct {
	phase string
	since time.Time
}

// newProgress starts a display for total hosts, or returns nil when no
// progress should be shown.
func newProgress(w io.Writer, total int, enabled bool) *progress {
	tty := isTerminal(w)
	if !enabled || total == 0 || (!tty && total < logProgressHosts) {
		return nil
	}
	p := &progress{w: w, tty: tty, total: total, start: time.Now(),
		running: map[string]hostState{}, observed: map[string]bool{}, failed: map[string]bool{},
		stop: make(chan struct{}), done: make(chan struct{})}
	p.interval = 10 * time.Second
	if p.tty {
		p.interval = 200 * time.Millisecond
	}
	go p.loop()
	return p
}

// event is the engine's Observer.HostPhase.
func (p *progress) event(ev controller.HostPhase) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !ev.Done {
		if ev.Phase == controller.PhaseObserve && len(p.running) == 0 && len(p.observed) == p.total-len(p.failed) {
			p.observed = map[string]bool{} // a new cycle
			p.cycle++
		}
		p.running[ev.Host] = hostState{ev.Phase, ev.At}
		return
	}
	delete(p.running, ev.Host)
	if ev.Failed {
		p.failed[ev.Host] = true
	}
	switch ev.Phase {
	case controller.PhaseObserve:
		p.observed[ev.Host] = true
	case controller.PhaseAct:
		p.acted++
	}
}

func (p *progress) loop() {
	defer close(p.done)
	t := time.NewTicker(p.interval)
	defer t.Stop()
	// The first line waits one interval (a second on a terminal), so a
	// quick run shows nothing.
	first := time.After(max(p.interval, time.Second))
	ready := false
	for {
		select {
		case <-p.stop:
			return
		case <-first:
			ready = true
			p.draw()
		case <-t.C:
			if ready {
				p.draw()
			}
		}
	}
}

func (p *progress) line() string {
	elapsed := time.Since(p.start)
	observing, acting := 0, 0
	slowest, since := "", time.Time{}
	for h, s := range p.running {
		if s.phase == controller.PhaseObserve {
			observing++
		} else {
			acting++
		}
		if slowest == "" || s.since.Before(since) || (s.since.Equal(since) && h < slowest) {
			slowest, since = h, s.since
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "observed %d/%d", len(p.observed), p.total)
	if observing > 0 {
		fmt.Fprintf(&b, ", observing %d", observing)
	}
	fmt.Fprintf(&b, ", acting %d, acted %d, failed %d, %s", acting, p.acted, len(p.failed), elapsed.Round(100*time.Millisecond))
	if slowest != "" {
		fmt.Fprintf(&b, "; slowest: %s (%s, %s)", safe(slowest), p.running[slowest].phase, time.Since(since).Round(100*time.Millisecond))
	}
	return b.String()
}

func (p *progress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused {
		return
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", p.line())
		p.drawn = true
		return
	}
	fmt.Fprintf(p.w, "progress: %s\n", p.line())
}

// hold clears the line and keeps it off while fn prints or asks something.
func (p *progress) hold(fn func()) {
	if p == nil {
		fn()
		return
	}
	p.mu.Lock()
	p.paused = true
	p.clearLocked()
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.paused = false
		p.mu.Unlock()
	}()
	fn()
}

func (p *progress) clearLocked() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

// Stop ends the display and clears its line.
func (p *progress) Stop() {
	if p == nil {
		return
	}
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
}

// attach makes the engine report to p around the observer it has, and
// keeps the line off while that observer prints (prints) or Confirm asks.
func (p *progress) attach(eng *controller.Engine, prints bool) {
	if p == nil {
		return
	}
	inner := eng.Observer
	if inner == nil {
		inner = controller.NopObserver{}
	}
	eng.Observer = progressObserver{Observer: inner, p: p, prints: prints}
	if f := eng.Confirm; f != nil {
		eng.Confirm = func(ctx context.Context, plan *controller.Plan) (ok bool, err error) {
			p.hold(func() { ok, err = f(ctx, plan) })
			return ok, err
		}
	}
}

// progressObserver feeds the display with the engine's host phases and
// passes the rest on to the observer it wraps.
type progressObserver struct {
	controller.Observer
	p      *progress
	prints bool // the wrapped observer prints plans and outcomes
}

func (o progressObserver) HostPhase(ev controller.HostPhase) { o.p.event(ev) }

func (o progressObserver) Planned(plan *controller.Plan) {
	if !o.prints {
		o.Observer.Planned(plan)
		return
	}
	o.p.hold(func() { o.Observer.Planned(plan) })
}

func (o progressObserver) Acted(plan *controller.Plan) {
	if !o.prints {
		o.Observer.Acted(plan)
		return
	}
	o.p.hold(func() { o.Observer.Acted(plan) })
}
