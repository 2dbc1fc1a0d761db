package main

import (
	"io"
	"net"
	"sync"
	"time"
)

// proxy forwards TCP connections from a loopback port to one etcd member.
// The run breaks it (every connection cut, new ones closed at once), delays
// it (each chunk held back) and heals it, to cut one replica off from etcd
// while it still reaches its hosts.
type proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	broken bool
	delay  time.Duration
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func newProxy(target string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Go(p.serve)
	return p, nil
}

// Addr is the proxy's address, for --etcd-endpoints.
func (p *proxy) Addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		broken := p.broken
		if !broken {
			p.conns[c] = true
		}
		p.mu.Unlock()
		if broken {
			c.Close()
			continue
		}
		p.wg.Go(func() { p.forward(c) })
	}
}

func (p *proxy) forward(c net.Conn) {
	defer p.drop(c)
	up, err := net.DialTimeout("tcp", p.target, 2*time.Second)
	if err != nil {
		return
	}
	if !p.track(up) {
		up.Close()
		return
	}
	defer p.drop(up)
	done := make(chan struct{}, 2)
	go func() { p.copy(up, c); done <- struct{}{} }()
	go func() { p.copy(c, up); done <- struct{}{} }()
	<-done // one side ended: end both
}

func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.broken {
		return false
	}
	p.conns[c] = true
	return true
}

func (p *proxy) drop(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// copy forwards src to dst chunk by chunk, holding each chunk back by the
// current delay.
func (p *proxy) copy(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			d := p.delay
			p.mu.Unlock()
			if d > 0 {
				time.Sleep(d)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Break cuts every connection and closes new ones until Heal.
func (p *proxy) Break() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.broken = true
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// Delay holds every chunk back by d until Heal.
func (p *proxy) Delay(d time.Duration) {
	p.mu.Lock()
	p.delay = d
	p.mu.Unlock()
}

// Heal ends Break and Delay.
func (p *proxy) Heal() {
	p.mu.Lock()
	p.broken, p.delay = false, 0
	p.mu.Unlock()
}

// Close stops the proxy and its connections.
func (p *proxy) Close() {
	p.ln.Close()
	p.Break()
	p.wg.Wait()
}
