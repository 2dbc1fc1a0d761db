package history

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// BenchmarkRecordRun is what one CLI run spends on its record: open the
// database, record the start, record the end (three hosts), close.
func BenchmarkRecordRun(b *testing.B) {
	dir := b.TempDir()
	ctx := context.Background()
	cpu, n := cpuTime(), 0
	for b.Loop() {
		n++
		s, err := Open(ctx, dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		r := sampleRun("d", StateConverged, StateConverged, StateFailed)
		if err := s.Begin(ctx, r); err != nil {
			b.Fatal(err)
		}
		if err := s.Finish(ctx, r); err != nil {
			b.Fatal(err)
		}
		_ = s.Close()
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(n), "cpu-ns/op")
}

// fullStore opens a store that already holds as many runs as it keeps, so
// that every record also prunes one: the controller's steady state.
func fullStore(b *testing.B) *Store {
	b.Helper()
	s, err := Open(context.Background(), b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	runs := make([]*Run, DefaultKeep)
	for i := range runs {
		runs[i] = sampleRun("d", StateConverged)
	}
	if err := s.Record(context.Background(), runs...); err != nil {
		b.Fatal(err)
	}
	return s
}

// cpuTime is the CPU this process has used, in every goroutine: the
// recorder's writer works beside the benchmark loop, so wall time per
// record would hide its cost.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBeginFinish is apply's path with the store open: record the
// start, then the end of a run of one host, each on its own.
func BenchmarkBeginFinish(b *testing.B) {
	s := fullStore(b)
	ctx := context.Background()
	b.ReportAllocs()
	cpu, n := cpuTime(), 0
	for b.Loop() {
		r := sampleRun("d", StateConverged)
		if err := s.Begin(ctx, r); err != nil {
			b.Fatal(err)
		}
		if err := s.Finish(ctx, r); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(n), "cpu-ns/op")
}

// BenchmarkRecordHostReconcile is the controller's path: one no-op host
// reconcile handed to the Recorder per op, everything written by the end
// (Close is timed), CPU counted in every goroutine.
func BenchmarkRecordHostReconcile(b *testing.B) {
	s := fullStore(b)
	rec := NewRecorder(s, RecorderOptions{Manifests: []string{"manifests/"}})
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	// Not b.Loop: the timer must run until Close has written the last batch.
	for range b.N {
		// A fresh record each time, as the controller hands over: the
		// recorder owns what it is given.
		if err := rec.RecordHostReconcile(nil, "web1", hostReport("web1", 0), nil, time.Now(), time.Millisecond); err != nil {
			b.Fatal(err)
		}
	}
	if err := rec.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}
