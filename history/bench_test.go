package history

import (
	"context"
	"testing"
)

// BenchmarkRecordRun is what one CLI run spends on its record: open the
// database, record the start, record the end (three hosts), close.
func BenchmarkRecordRun(b *testing.B) {
	dir := b.TempDir()
	ctx := context.Background()
	for b.Loop() {
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
}
