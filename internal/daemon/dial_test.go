package daemon

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/transport"
)

func TestBoundedDialRetriesDroppedHandshakesOnly(t *testing.T) {
	host := &v1alpha1.Host{Metadata: v1alpha1.ObjectMeta{Name: "h"}}
	for _, tc := range []struct {
		reason   transport.Reason
		attempts int
	}{
		{transport.ReasonUnreachable, dialAttempts}, // sshd MaxStartups closes before the banner
		{transport.ReasonRefused, dialAttempts},
		{transport.ReasonAuth, 1},
		{transport.ReasonHostKey, 1},
		{transport.ReasonTimeout, 1},
	} {
		var calls, counted atomic.Int32
		dial := boundedDial(func(context.Context, *v1alpha1.Host) (transport.Conn, error) {
			calls.Add(1)
			return nil, &transport.ConnectError{Host: "h", Reason: tc.reason, Err: errors.New("no")}
		}, 2, slog.New(slog.DiscardHandler), func() { counted.Add(1) })
		_, err := dial(context.Background(), host)
		var ce *transport.ConnectError
		if !errors.As(err, &ce) || ce.Reason != tc.reason {
			t.Errorf("%s: error %v does not keep its reason", tc.reason, err)
		}
		if int(calls.Load()) != tc.attempts {
			t.Errorf("%s: %d attempts, want %d", tc.reason, calls.Load(), tc.attempts)
		}
		if counted.Load() != calls.Load() {
			t.Errorf("%s: %d attempts counted, %d made", tc.reason, counted.Load(), calls.Load())
		}
	}
}

func TestBoundedDialBoundsHandshakesInFlight(t *testing.T) {
	var inFlight, peak atomic.Int32
	release := make(chan struct{})
	dial := boundedDial(func(context.Context, *v1alpha1.Host) (transport.Conn, error) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		inFlight.Add(-1)
		return nil, errors.New("done")
	}, 3, slog.New(slog.DiscardHandler), nil)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = dial(context.Background(), &v1alpha1.Host{})
		}()
	}
	close(release)
	wg.Wait()
	if p := peak.Load(); p > 3 {
		t.Fatalf("%d handshakes in flight at once, bound 3", p)
	}
}
