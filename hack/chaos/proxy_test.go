package main

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"
)

// echo serves an echo server until the test ends.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

// roundTrip sends a line through addr and says whether it came back.
func roundTrip(t *testing.T, c net.Conn) bool {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "ping\n"
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestProxyBreaksDelaysAndHeals(t *testing.T) {
	p, err := newProxy(echo(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	before := dial(t, p.Addr())
	if !roundTrip(t, before) {
		t.Fatal("no round trip through a healthy proxy")
	}
	p.Break()
	if roundTrip(t, before) {
		t.Fatal("a connection open before Break still works")
	}
	if roundTrip(t, dial(t, p.Addr())) {
		t.Fatal("a new connection works through a broken proxy")
	}
	p.Heal()
	if !roundTrip(t, dial(t, p.Addr())) {
		t.Fatal("no round trip after Heal")
	}
	p.Delay(50 * time.Millisecond)
	if !roundTrip(t, dial(t, p.Addr())) {
		t.Fatal("no round trip through a delaying proxy")
	}
}
