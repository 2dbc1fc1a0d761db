package daemon

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/transport"
)

func TestQuarantineReason(t *testing.T) {
	connect := func(r transport.Reason) error {
		// Wrapped as the engine wraps it.
		return fmt.Errorf("observe: %w", &transport.ConnectError{Host: "h", Addr: "a", Reason: r, Err: errors.New("x")})
	}
	for _, tc := range []struct {
		err      error
		reason   string
		terminal bool
	}{
		{connect(transport.ReasonHostKey), ReasonHostKeyMismatch, true},
		{connect(transport.ReasonAuth), ReasonAuthFailed, true},
		{connect(transport.ReasonBecome), ReasonBecomeFailed, true},
		{connect(transport.ReasonConfig), ReasonInvalidHostConfig, true},
		{connect(transport.ReasonRefused), ReasonConnectionRefused, false},
		{connect(transport.ReasonTimeout), ReasonTimeout, false},
		{connect(transport.ReasonLost), ReasonConnectionLost, false},
		{fmt.Errorf("User/a: create: %w", &controller.ActionError{ExitCode: 1}), ReasonActionFailed, false},
		{errors.New("something else"), ReasonReconcileFailed, false},
	} {
		reason, terminal := quarantineReason(tc.err)
		if reason != tc.reason || terminal != tc.terminal {
			t.Errorf("%v: %s terminal=%v, want %s terminal=%v", tc.err, reason, terminal, tc.reason, tc.terminal)
		}
	}
}

func TestTerminalFailuresWaitForTheLongestBackoff(t *testing.T) {
	initial, max := time.Second, time.Minute
	for failures := 1; failures <= 8; failures++ {
		if d := retryDelay(initial, max, failures, true); d < max*9/10 {
			t.Errorf("terminal failure %d retried after %s, want about %s", failures, d, max)
		}
	}
	if d := retryDelay(initial, max, 1, false); d > initial*11/10 {
		t.Errorf("first retryable failure retried after %s, want about %s", d, initial)
	}
}
