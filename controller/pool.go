package controller

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/transport"
)

// Pool keeps one connection per host open across runs, for a long-running
// process such as optimus-controller. A connection is replaced when the
// host's spec changes or a transport error drops it.
type Pool struct {
	mu    sync.Mutex
	conns map[string]pooled
}

type pooled struct {
	spec string // JSON of the host spec the connection was made with
	conn transport.Conn
}

// get returns the open connection of h, dialling when there is none.
func (p *Pool) get(ctx context.Context, h *v1alpha1.Host, dial DialFunc) (transport.Conn, bool, error) {
	spec, _ := json.Marshal(h.Spec)
	p.mu.Lock()
	c, ok := p.conns[h.Metadata.Name]
	p.mu.Unlock()
	if ok && c.spec == string(spec) {
		return c.conn, false, nil
	}
	if ok {
		p.Drop(h.Metadata.Name)
	}
	conn, err := dial(ctx, h)
	if err != nil {
		return nil, false, err
	}
	p.mu.Lock()
	if p.conns == nil {
		p.conns = map[string]pooled{}
	}
	p.conns[h.Metadata.Name] = pooled{spec: string(spec), conn: conn}
	p.mu.Unlock()
	return conn, true, nil
}

// Drop closes and forgets the connection of host.
func (p *Pool) Drop(host string) {
	p.mu.Lock()
	c, ok := p.conns[host]
	delete(p.conns, host)
	p.mu.Unlock()
	if ok {
		_ = c.conn.Close()
	}
}

// Close closes every connection.
func (p *Pool) Close() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	// Closing a connection ends its remote shell and waits for the host to
	// say so: one round trip each. Closed one after another, ten thousand
	// kept connections took a controller minutes to stop.
	sem := make(chan struct{}, closeParallel)
	var wg sync.WaitGroup
	for _, c := range conns {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			_ = c.conn.Close()
		}()
	}
	wg.Wait()
}

// closeParallel is how many connections Close ends at once.
const closeParallel = 64

// Batch runs cmds on h over its kept connection, dialling when there is
// none, for work outside a run such as a rollout's health checks. A
// transport error drops the connection.
func (p *Pool) Batch(ctx context.Context, h *v1alpha1.Host, dial DialFunc, cmds []transport.Command) ([]transport.Result, error) {
	if dial == nil {
		dial = transport.Dial
	}
	conn, _, err := p.get(ctx, h, dial)
	if err != nil {
		return nil, err
	}
	res, err := conn.Batch(ctx, cmds)
	if err != nil {
		p.Drop(h.Metadata.Name)
	}
	return res, err
}
