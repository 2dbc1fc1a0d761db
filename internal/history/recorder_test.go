package history

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/reconcilers"
)

// hostReport is the record of one reconcile of host, as the controller
// makes it from the engine's report; changed > 0 gives it that many acted
// actions.
func hostReport(host string, changed int) *Run {
	run := &Run{Command: CommandController, Cycles: 1, Outcome: OutcomeConverged,
		Hosts: []Host{{Name: host, State: "converged", Changed: changed}}}
	for i := range changed {
		run.Hosts[0].Actions = append(run.Hosts[0].Actions, Action{Cycle: 1,
			Resource: fmt.Sprintf("User/u%d", i), Op: string(reconcilers.OpCreate), Description: fmt.Sprintf("create user u%d", i),
			Status: "ok", Lines: ChangeLines(reconcilers.Action{Changes: []reconcilers.Change{{Field: "shell", After: "/bin/bash"}}})})
	}
	if changed > 0 {
		run.Cycles = 2
	}
	return run
}

// TestRecorderRecordsEveryRun: runs handed to the recorder, more than a
// batch of them, are all recorded after Close, in the order they were
// handed over, and read back whole.
func TestRecorderRecordsEveryRun(t *testing.T) {
	ctx := t.Context()
	s := open(t, t.TempDir(), Options{})
	rec := NewRecorder(s, RecorderOptions{Manifests: []string{"manifests/"}, FlushInterval: 10 * time.Millisecond, BatchSize: 64})
	const n = 300
	start := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for i := range n {
		host := fmt.Sprintf("web%d", i%7)
		var runErr error
		if i%50 == 49 {
			runErr = errors.New("dial " + host + ": connection refused")
		}
		rep := hostReport(host, i%3)
		if runErr != nil {
			rep = nil
		}
		if err := rec.RecordHostReconcile(nil, host, rep, runErr, start.Add(time.Duration(i)*time.Second), 250*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rec.RecordHostReconcile(nil, "web1", hostReport("web1", 0), nil, start, time.Second); !errors.Is(err, ErrClosed) {
		t.Errorf("a run after Close: %v, want ErrClosed", err)
	}

	runs, err := s.List(ctx, Filter{Limit: 2 * n})
	if err != nil || len(runs) != n {
		t.Fatalf("List: %d runs (%v), want %d", len(runs), err, n)
	}
	for i, r := range runs { // newest first
		want := start.Add(time.Duration(n-1-i) * time.Second)
		if !r.Start.Equal(want) || r.Command != CommandController || !r.Finished() || len(r.Hosts) != 1 {
			t.Fatalf("run %d of the listing: %+v, want started at %v", i, r, want)
		}
		if i > 0 && r.ID >= runs[i-1].ID {
			t.Fatalf("run IDs do not follow the order of recording: %d after %d", r.ID, runs[i-1].ID)
		}
	}
	got, err := s.Get(ctx, runs[n-1-2].ID) // the third run: two actions
	if err != nil {
		t.Fatal(err)
	}
	h := got.Hosts[0]
	if got.Outcome != OutcomeConverged || got.ExitCode != 0 || got.Cycles != 2 || got.Manifests[0] != "manifests/" ||
		h.Name != "web2" || h.Changed != 2 || h.Duration != 250*time.Millisecond || len(h.Actions) != 2 ||
		h.Actions[1].Description != "create user u1" || !slices.Equal(h.Actions[1].Lines, []string{`shell: "" -> /bin/bash`}) {
		t.Errorf("Get of the third run: %+v, host %+v", got, h)
	}
	failed, err := s.List(ctx, Filter{Failed: true, Limit: n})
	if err != nil || len(failed) != n/50 || failed[0].Hosts[0].Reason == "" || failed[0].ExitCode != 3 {
		t.Errorf("failed runs: %d (%v), want %d with their reason", len(failed), err, n/50)
	}
}

// TestRecorderCloseAfterBurstLosesNothing: a burst from many reconciles at
// once, none of it written yet, is all recorded by Close.
func TestRecorderCloseAfterBurstLosesNothing(t *testing.T) {
	s := open(t, t.TempDir(), Options{Keep: -1})
	rec := NewRecorder(s, RecorderOptions{FlushInterval: time.Hour, BatchSize: 1 << 20})
	const workers, each = 8, 250
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				host := fmt.Sprintf("w%d-%d", w, i)
				if err := rec.RecordHostReconcile(nil, host, hostReport(host, 1), nil, time.Now(), time.Millisecond); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	runs, err := s.List(t.Context(), Filter{Limit: 2 * workers * each})
	if err != nil || len(runs) != workers*each {
		t.Fatalf("%d runs recorded (%v), want %d", len(runs), err, workers*each)
	}
	if rec.Dropped() != 0 {
		t.Errorf("dropped %d runs below the bound", rec.Dropped())
	}
}

// TestRecorderDropsOldestWhenBehind: past the bound, the oldest runs give
// way to the newest, and the drop is counted and told.
func TestRecorderDropsOldestWhenBehind(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	var told []int
	rec := NewRecorder(s, RecorderOptions{FlushInterval: time.Hour, BatchSize: 1 << 20, MaxQueued: 10,
		OnDrop: func(n int) { told = append(told, n) }})
	start := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for i := range 25 {
		if err := rec.RecordHostReconcile(nil, "web1", hostReport("web1", 0), nil, start.Add(time.Duration(i)*time.Second), time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	runs, err := s.List(t.Context(), Filter{})
	if err != nil || len(runs) != 10 || !runs[9].Start.Equal(start.Add(15*time.Second)) {
		t.Fatalf("%d runs (%v), want the newest 10", len(runs), err)
	}
	if rec.Dropped() != 15 || !slices.Equal(told, []int{15}) {
		t.Errorf("Dropped = %d, told %v; want 15, told once", rec.Dropped(), told)
	}
}

// TestRecorderTellsAFailedBatchOnce: a batch that cannot be written is
// told once, with the number of runs it held.
func TestRecorderTellsAFailedBatchOnce(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	type failure struct {
		err  error
		runs int
	}
	var told []failure
	rec := NewRecorder(s, RecorderOptions{FlushInterval: time.Hour,
		OnError: func(err error, runs int) { told = append(told, failure{err, runs}) }})
	for range 5 {
		if err := rec.RecordHostReconcile(nil, "web1", hostReport("web1", 1), nil, time.Now(), time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Close()
	err := rec.Close()
	var e *Error
	if !errors.As(err, &e) || e.Path != s.Path() {
		t.Errorf("Close with the store closed: %v, want an error naming the file", err)
	}
	if len(told) != 1 || told[0].runs != 5 || told[0].err == nil {
		t.Errorf("told %+v, want one failure of 5 runs", told)
	}
}
