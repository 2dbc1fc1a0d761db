package controller

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/transport"
)

// slowClose is a connection whose Close waits until every connection of
// the pool has begun closing: closed one after another, they never would.
type slowClose struct {
	started *sync.WaitGroup
	closed  chan string
	name    string
}

func (c *slowClose) Batch(context.Context, []transport.Command) ([]transport.Result, error) {
	return nil, nil
}

func (c *slowClose) Close() error {
	c.started.Done()
	c.started.Wait()
	c.closed <- c.name
	return nil
}

// TestPoolClosesConnectionsTogether: a controller stopping with thousands
// of kept connections ends them side by side, each a round trip to its
// host, not one after another.
func TestPoolClosesConnectionsTogether(t *testing.T) {
	n := closeParallel
	var started sync.WaitGroup
	started.Add(n)
	closed := make(chan string, n)
	p := &Pool{conns: map[string]pooled{}}
	for i := range n {
		name := fmt.Sprintf("h%d", i)
		p.conns[name] = pooled{conn: &slowClose{started: &started, closed: closed, name: name}}
	}
	done := make(chan struct{})
	go func() { p.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute): // a deadlock, not a slow machine
		t.Fatalf("Close did not return: %d of %d connections closed; they are closed one at a time", len(closed), n)
	}
	if len(closed) != n {
		t.Errorf("%d of %d connections closed", len(closed), n)
	}
}
