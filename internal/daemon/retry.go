package daemon

import (
	"errors"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/optimus-cm/optimus/controller"
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
	var ae *controller.ActionError
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
		return backoffAfter(max, max, 1)
	}
	return backoffAfter(initial, max, failures)
}

// exponential is the daemon's one backoff: doubling from initial up to
// max, each delay jittered by ±jitter of itself so that hosts that failed
// together do not retry together.
func exponential(initial, max time.Duration, jitter float64) *backoff.ExponentialBackOff {
	return &backoff.ExponentialBackOff{InitialInterval: initial, Multiplier: 2, MaxInterval: max, RandomizationFactor: jitter}
}

// backoffAfter is the delay after the failures-th failure in a row, ±10%.
// The count is kept in the host's status, across restarts, so the backoff
// is stepped up to it rather than kept in memory; past 64 doublings every
// step is at max anyway.
func backoffAfter(initial, max time.Duration, failures int) time.Duration {
	b := exponential(initial, max, 0.1)
	d := b.NextBackOff()
	for i := 1; i < min(failures, 64); i++ {
		d = b.NextBackOff()
	}
	return d
}
