package daemon

import (
	"errors"
	"time"

	"github.com/optimus-cm/optimus/engine"
	"github.com/optimus-cm/optimus/transport"
)

// Reasons of the Quarantined condition, by what made the host fail.
const (
	ReasonHostKeyMismatch   = "HostKeyMismatch"
	ReasonAuthFailed        = "AuthFailed"
	ReasonBecomeFailed      = "BecomeFailed"
	ReasonInvalidHostConfig = "InvalidHostConfig"
	ReasonProtocolError     = "ProtocolError"
	ReasonConnectionRefused = "ConnectionRefused"
	// ReasonTimeout: connecting took longer than spec.connectTimeout, or an
	// observe or act round trip passed its deadline (spec.timeouts); the
	// message says which.
	ReasonTimeout         = "Timeout"
	ReasonUnreachable     = "Unreachable"
	ReasonConnectionLost  = "ConnectionLost"
	ReasonActionFailed    = "ActionFailed"
	ReasonReconcileFailed = "ReconcileFailed"
)

var connectReasons = map[transport.Reason]string{
	transport.ReasonHostKey:     ReasonHostKeyMismatch,
	transport.ReasonAuth:        ReasonAuthFailed,
	transport.ReasonBecome:      ReasonBecomeFailed,
	transport.ReasonConfig:      ReasonInvalidHostConfig,
	transport.ReasonProtocol:    ReasonProtocolError,
	transport.ReasonRefused:     ReasonConnectionRefused,
	transport.ReasonTimeout:     ReasonTimeout,
	transport.ReasonUnreachable: ReasonUnreachable,
	transport.ReasonLost:        ReasonConnectionLost,
}

// quarantineReason classifies why a host failed: the condition's Reason,
// and whether retrying cannot help until someone changes the host or the
// manifests (a changed host key, refused credentials, a bad Host spec).
func quarantineReason(err error) (reason string, terminal bool) {
	var ce *transport.ConnectError
	if errors.As(err, &ce) {
		if r, ok := connectReasons[ce.Reason]; ok {
			return r, !ce.Retryable()
		}
		return ReasonReconcileFailed, !ce.Retryable()
	}
	var ae *engine.ActionError
	if errors.As(err, &ae) {
		return ReasonActionFailed, false
	}
	return ReasonReconcileFailed, false
}

// retryDelay is when a failed host is tried again: with exponential backoff
// while the failure may clear up by itself, at the longest backoff when it
// cannot (a manifest change retries it at once).
func retryDelay(initial, max time.Duration, failures int, terminal bool) time.Duration {
	if terminal {
		return backoff(max, max, 1)
	}
	return backoff(initial, max, failures)
}
