package daemon

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/engine"
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
func boundedDial(dial engine.DialFunc, limit int, log *slog.Logger, dialled func()) engine.DialFunc {
	if dial == nil {
		dial = transport.Dial
	}
	sem := make(chan struct{}, limit)
	return func(ctx context.Context, h *v1alpha1.Host) (transport.Conn, error) {
		pause := 200 * time.Millisecond
		for attempt := 1; ; attempt++ {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if dialled != nil {
				dialled()
			}
			conn, err := dial(ctx, h)
			<-sem
			if err == nil || attempt == dialAttempts || !transient(err) {
				return conn, err
			}
			wait := pause + time.Duration(rand.Int64N(int64(pause)))
			log.Debug("dial failed; trying again", "host", h.Metadata.Name, "attempt", attempt, "in", wait, "err", err)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return nil, err
			}
			pause *= 2
		}
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
