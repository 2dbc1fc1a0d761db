package controller

import (
	"strings"
	"sync"

	"github.com/optimus-cm/optimus/reconcilers"
)

// redactor scrubs every secret value it has seen from text shown to people.
// Reconcilers keep secrets out of descriptions and changes; this catches a
// secret echoed back by a failing command's output.
type redactor struct {
	mu      sync.Mutex
	secrets map[string]bool
}

func (r *redactor) add(values ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.secrets == nil {
		r.secrets = map[string]bool{}
	}
	for _, v := range values {
		if len(v) >= 4 { // shorter values would scrub ordinary words
			r.secrets[v] = true
		}
	}
}

// text is err's message, scrubbed; empty for nil.
func (r *redactor) text(err error) string {
	if err == nil {
		return ""
	}
	if r == nil {
		return err.Error()
	}
	return r.scrub(err.Error())
}

func (r *redactor) scrub(s string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for v := range r.secrets {
		s = strings.ReplaceAll(s, v, reconcilers.Redacted)
	}
	return s
}
