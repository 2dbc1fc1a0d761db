package web

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestEventsAnnounceChanges(t *testing.T) {
	src := &fakeSource{fleet: fleetOf(2)}
	ts := newTestServer(t, src, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	lines := bufio.NewScanner(resp.Body)
	lines.Scan() // retry:
	for {
		src.mu.Lock()
		n := len(src.subs)
		src.mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	src.set(fleetOf(3))
	for lines.Scan() {
		if lines.Text() == "event: change" {
			return
		}
	}
	t.Fatalf("no change event: %v", lines.Err())
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:9443": true, "[::1]:9443": true, "localhost:1": true,
		"0.0.0.0:9443": false, ":9443": false, "10.0.0.1:80": false, "example.com:80": false, "garbage": false} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v", addr, got)
		}
	}
}

func TestEventsAnnounceAChangeMissedBeforeSubscribing(t *testing.T) {
	f := fleetOf(1)
	ts := newTestServer(t, &fakeSource{fleet: f}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	since := f.UpdatedAt.Add(-time.Second).UnixMilli() // the page showed an older status
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/events?since=%d", ts.URL, since), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if lines.Text() == "event: change" {
			return
		}
	}
	t.Fatalf("no change event: %v", lines.Err())
}
