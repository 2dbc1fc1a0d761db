package daemon

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v5"
	"golang.org/x/sync/semaphore"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/transport"
)

// dialAttempts bounds how often one dial is tried before the failure is
// reported (and the host quarantined).
const dialAttempts = 4

// boundedDial wraps dial so that at most limit handshakes are in flight,
// whatever the number of workers, and so that a handshake an overloaded
// sshd drops (MaxStartups closes the connection before its banner) or
// refuses is tried again after a short jittered pause instead of
// quarantining the host. Reconciles over kept connections never dial and
// are not held up by this bound. dialled, when set, counts every attempt.
func boundedDial(dial controller.DialFunc, limit int, log *slog.Logger, dialled func()) controller.DialFunc {
	if dial == nil {
		dial = transport.Dial
	}
	sem := semaphore.NewWeighted(int64(limit))
	return func(ctx context.Context, h *v1alpha1.Host) (transport.Conn, error) {
		attempt := 0
		once := func() (transport.Conn, error) {
			attempt++
			if err := sem.Acquire(ctx, 1); err != nil {
				return nil, backoff.Permanent(err)
			}
			if dialled != nil {
				dialled()
			}
			conn, err := dial(ctx, h)
			sem.Release(1)
			if err != nil && !transient(err) {
				return nil, backoff.Permanent(err)
			}
			return conn, err
		}
		// Pauses of 200-400 ms, then 400-800 ms, and so on.
		return backoff.Retry(ctx, once, backoff.WithBackOff(exponential(300*time.Millisecond, time.Minute, 1.0/3)),
			backoff.WithMaxTries(dialAttempts),
			backoff.WithNotify(func(err error, wait time.Duration) {
				log.Debug("dial failed; trying again", "host", h.Metadata.Name, "attempt", attempt, "in", wait, "err", err)
			}))
	}
}

// transient reports whether a failed dial is worth trying again at once: a
// refused or dropped connection, not a timeout (which already took long)
// nor anything that needs someone to change the host or the manifests.
func transient(err error) bool {
	var ce *transport.ConnectError
	if !errors.As(err, &ce) {
		return false
	}
	return ce.Reason == transport.ReasonRefused || ce.Reason == transport.ReasonUnreachable || ce.Reason == transport.ReasonLost
}
