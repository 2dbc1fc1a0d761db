package cluster

import (
	"errors"
	"fmt"
)

// ErrFenced is the class of every refusal to act: the replica does not, or
// may no longer, hold the host. Callers test it with errors.Is and skip the
// host instead of quarantining it.
var ErrFenced = errors.New("fenced")

// FenceError says why an act on a host was refused.
type FenceError struct {
	Host   string
	Reason string // "not owned", "lease expiring", "ownership changed", "etcd unavailable", ...
	Err    error
}

func (e *FenceError) Error() string {
	msg := fmt.Sprintf("act on %s refused: %s", e.Host, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is makes every FenceError match ErrFenced.
func (e *FenceError) Is(target error) bool { return target == ErrFenced }

func (e *FenceError) Unwrap() error { return e.Err }

// ErrDuplicateID is returned when another live replica already uses this
// replica's ID: two processes with one identity would defeat fencing.
var ErrDuplicateID = errors.New("replica ID already in use by a live replica")
