package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// UnconfirmedError is why an action is StatusUnknown: the connection was
// lost while its batch ran, after the commands before it had reported and
// before it did. It may have run, in part or whole: only observing the host
// again tells, so the engine reconnects and observes before it calls
// anything failed. Its message is the same short sentence for every such
// action; Cause, the connection's failure, is said once per host.
type UnconfirmedError struct {
	Cause error
}

func (e *UnconfirmedError) Error() string {
	return "not confirmed: the connection was lost before its result came back; it may have run, and the host is observed again to find out"
}

func (e *UnconfirmedError) Unwrap() error { return e.Cause }

// regainWindow bounds how long the engine tries to reconnect to a host
// whose connection an act batch lost: long enough for an sshd that the
// batch restarted to come back.
var regainWindow = time.Minute

// maxRegainWait is the longest pause between two reconnection attempts.
const maxRegainWait = 5 * time.Second

// lostMidway records an act batch whose connection was lost: the commands
// that reported before (partial) keep their outcome, every other action it
// carried (those for which sent says true) is unknown, and the host is not
// quarantined: its next observe reconnects and settles them (see settle).
// slot maps planned actions to the batch's commands.
func (e *Engine) lostMidway(r *hostRun, err error, partial []transport.Result, slot []int, sent func(i int) bool) {
	e.broken(r)
	if e.Pool == nil && r.conn != nil {
		_ = r.conn.Close()
	}
	r.conn = nil
	why := &UnconfirmedError{Cause: err}
	for i := range r.plan {
		pa := &r.plan[i]
		if pa.Status != StatusPlanned || !sent(i) || slot[i] < 0 {
			continue
		}
		if s := slot[i]; s < len(partial) {
			e.record(r, pa, partial[s])
			continue
		}
		pa.Status, pa.Err = StatusUnknown, why
		r.unknown++
		if r.unconfirmed == nil {
			r.unconfirmed = map[v1alpha1.ResourceRef]int{}
		}
		r.unconfirmed[pa.Resource]++
	}
	if r.lost == nil {
		r.lost = err
	}
}

// open connects to the host before an observe. After a lost act batch it
// tries again, with growing pauses, for up to regainWindow, as long as the
// failure is one that may clear up by itself (an sshd restarting refuses
// connections for a moment).
func (e *Engine) open(ctx context.Context, r *hostRun, dial DialFunc) error {
	if r.lost == nil {
		return e.connect(ctx, r, dial)
	}
	deadline := time.Now().Add(regainWindow)
	wait := 250 * time.Millisecond
	for {
		err := e.connect(ctx, r, dial)
		if err == nil {
			return nil
		}
		var ce *transport.ConnectError
		if !errors.As(err, &ce) || !ce.Retryable() || time.Now().Add(wait).After(deadline) {
			return fmt.Errorf("the connection was lost while acting and could not be opened again: %w", err)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, maxRegainWait)
	}
}

// settle decides, once the host was observed again after a lost act batch,
// what became of the actions whose result was lost: a resource with nothing
// left to do had them done (they count as changed, and as triggers of the
// refreshes that watch it); one planned again gets its outcome from this
// cycle's act.
func (r *hostRun) settle() {
	if r.lost == nil {
		return
	}
	planned := map[v1alpha1.ResourceRef]bool{}
	for _, pa := range r.plan {
		planned[pa.Resource] = true
	}
	for ref, n := range r.unconfirmed {
		r.unknown -= n
		if !planned[ref] {
			r.confirmed += n
			r.changed += n
			r.changedRefs[ref] = true
		}
	}
	r.lost, r.unconfirmed = nil, nil
}

// queryRegaining is query, sent once more over a new connection when the
// first was lost on the way: observing is read-only, so reading again is
// safe, and a host whose connection an earlier act cut late (a restart
// that returned before the session dropped) is observed, not failed.
func (e *Engine) queryRegaining(ctx context.Context, r *hostRun, dial DialFunc, queries []reconcilers.Query) ([]transport.Result, error) {
	got, err := e.send(ctx, r, queries)
	var ce *transport.ConnectError
	if err != nil && ctx.Err() == nil && errors.As(err, &ce) && ce.Reason == transport.ReasonLost {
		e.broken(r)
		if e.Pool == nil {
			_ = r.conn.Close()
		}
		r.conn = nil
		if r.lost == nil {
			r.lost = err
		}
		if err = e.open(ctx, r, dial); err == nil {
			got, err = e.send(ctx, r, queries)
		}
	}
	if err != nil {
		e.failObserve(ctx, r, err)
	}
	return got, err
}
