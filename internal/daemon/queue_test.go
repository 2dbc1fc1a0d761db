package daemon

import (
	"slices"
	"sync"
	"testing"
	"time"
)

func TestQueueNeverHandsOutAHostTwiceAtOnce(t *testing.T) {
	q := newQueue()
	q.Add("a", priorityResync)
	q.Add("a", priorityResync) // duplicate while queued: dropped
	h, ok := q.Get()
	if !ok || h != "a" {
		t.Fatalf("Get = %q %v", h, ok)
	}
	q.Add("a", priorityResync) // while active: remembered, not handed out
	got := make(chan string, 1)
	go func() {
		h, _ := q.Get()
		got <- h
	}()
	select {
	case h := <-got:
		t.Fatalf("host %q handed out while still active", h)
	case <-time.After(50 * time.Millisecond):
	}
	q.Done("a")
	select {
	case h := <-got:
		if h != "a" {
			t.Fatalf("got %q", h)
		}
	case <-time.After(time.Second):
		t.Fatal("the add made while active was lost")
	}
}

func TestQueueAddAfterAndForget(t *testing.T) {
	q := newQueue()
	q.AddAfter("a", 20*time.Millisecond)
	q.AddAfter("b", 20*time.Millisecond)
	q.Forget("b")
	start := time.Now()
	h, _ := q.Get()
	if h != "a" || time.Since(start) < 15*time.Millisecond {
		t.Fatalf("got %q after %s", h, time.Since(start))
	}
	time.Sleep(40 * time.Millisecond)
	if q.Len() != 0 {
		t.Fatalf("forgotten host was queued")
	}
}

func TestQueueShutDownWakesWorkers(t *testing.T) {
	q := newQueue()
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, ok := q.Get(); ok {
				t.Error("Get returned a host after shutdown")
			}
		}()
	}
	time.Sleep(10 * time.Millisecond)
	q.ShutDown()
	wg.Wait()
}

func TestBackoffDoublesToMaxWithJitter(t *testing.T) {
	for _, tc := range []struct {
		failures int
		want     time.Duration
	}{{1, 5 * time.Second}, {2, 10 * time.Second}, {3, 20 * time.Second}, {8, 5 * time.Minute}, {30, 5 * time.Minute}} {
		got := backoffAfter(5*time.Second, 5*time.Minute, tc.failures)
		if got < tc.want*9/10 || got > tc.want*11/10 {
			t.Errorf("backoff after %d failures = %s, want %s ±10%%", tc.failures, got, tc.want)
		}
	}
}

func TestRelevant(t *testing.T) {
	for path, want := range map[string]bool{
		"m/users.yaml": true, "m/motd.txt": true, "m/.users.yaml.swp": false, "m/users.yaml~": false,
		"m/4913": true, "m/x.tmp": false,
	} {
		if got := relevant(path); got != want {
			t.Errorf("relevant(%q) = %v", path, got)
		}
	}
}

func TestQueueChangesJumpAheadOfResync(t *testing.T) {
	q := newQueue()
	for _, h := range []string{"r1", "r2", "r3"} {
		q.Add(h, priorityResync)
	}
	q.Add("c1", priorityChange)
	q.Add("r3", priorityChange) // already waiting: moves up, once
	var got []string
	for range 4 {
		h, _ := q.Get()
		got = append(got, h)
		q.Done(h)
	}
	if want := []string{"c1", "r3", "r1", "r2"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	if n := q.Len(); n != 0 {
		t.Fatalf("%d hosts still waiting; the promoted host was handed out twice?", n)
	}
	q.Add("r1", priorityResync)
	h, _ := q.Get()
	q.Add("r1", priorityChange) // while active: handed out again after Done
	q.Done(h)
	if h, _ := q.Get(); h != "r1" {
		t.Fatalf("got %q", h)
	}
}

// TestResyncWaitsForChangesAndReloads: while a changed host is worked on,
// or the manifests are reloading, no resync work is handed out; changes
// still are.
func TestResyncWaitsForChangesAndReloads(t *testing.T) {
	q := newQueue()
	q.Add("changed", priorityChange)
	q.Add("drift", priorityResync)
	if h, _ := q.Get(); h != "changed" {
		t.Fatalf("first = %q, want the change", h)
	}
	got := make(chan string, 2)
	get := func() {
		h, _ := q.Get()
		got <- h
	}
	go get()
	select {
	case h := <-got:
		t.Fatalf("%q handed out while a change is worked on", h)
	case <-time.After(50 * time.Millisecond):
	}
	q.Hold()
	q.Done("changed")
	select {
	case h := <-got:
		t.Fatalf("%q handed out during a reload", h)
	case <-time.After(50 * time.Millisecond):
	}
	q.Add("another", priorityChange) // a change is handed out during a hold
	if h := <-got; h != "another" {
		t.Fatalf("got %q, want the change", h)
	}
	q.Done("another")
	go get()
	q.Release()
	select {
	case h := <-got:
		if h != "drift" {
			t.Fatalf("got %q", h)
		}
	case <-time.After(time.Second):
		t.Fatal("resync work never resumed")
	}
}
