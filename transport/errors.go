package transport

import (
	"errors"
	"fmt"
)

// Reason classifies a ConnectError.
type Reason string

// Reasons a host cannot be reached or kept. Retryable ones may clear up by
// themselves; the others need someone to change the host or the manifest.
const (
	ReasonRefused     Reason = "refused"     // nothing listens on the port (retryable)
	ReasonTimeout     Reason = "timeout"     // no answer within the connect timeout, or an observe or act deadline passed (retryable)
	ReasonUnreachable Reason = "unreachable" // other network or process failure (retryable)
	ReasonLost        Reason = "lost"        // the connection or shell died (retryable)
	ReasonHostKey     Reason = "host-key"    // unknown, changed or revoked host key (terminal)
	ReasonAuth        Reason = "auth"        // the host refused every credential (terminal)
	ReasonBecome      Reason = "become"      // sudo refused (terminal)
	ReasonConfig      Reason = "config"      // the Host resource cannot work as written (terminal)
	ReasonProtocol    Reason = "protocol"    // the remote shell broke the batch protocol (terminal)
)

// ConnectError is a failure to reach a host or to keep its connection: the
// engine quarantines the host on it. Error() names the host, what happened
// and what to do.
type ConnectError struct {
	// Host is the Host resource's name.
	Host string
	// Via names the bastion that failed, when the failure was on the way
	// to the host rather than at it; Addr is then the bastion's.
	Via string
	// Addr says where the host (or the bastion Via) was reached:
	// "127.0.0.1:50001", "web2:22 via bastion1", "local",
	// "docker container web1".
	Addr string
	// Reason classifies the failure.
	Reason Reason
	// Err is the detail, already meant for the terminal.
	Err error
}

func (e *ConnectError) Error() string {
	if e.Via != "" {
		return fmt.Sprintf("host %s via bastion %s (%s): %v", e.Host, e.Via, e.Addr, e.Err)
	}
	return fmt.Sprintf("host %s (%s): %v", e.Host, e.Addr, e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// Retryable reports whether trying again later may succeed without anyone
// changing anything (a host rebooting, a network blip).
func (e *ConnectError) Retryable() bool {
	switch e.Reason {
	case ReasonRefused, ReasonTimeout, ReasonUnreachable, ReasonLost:
		return true
	}
	return false
}

// IsTerminal reports whether err is a ConnectError that retrying cannot fix.
func IsTerminal(err error) bool {
	var ce *ConnectError
	return errors.As(err, &ce) && !ce.Retryable()
}
