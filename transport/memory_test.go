package transport

import (
	"context"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
)

// BenchmarkKeptConnectionMemory measures what one open connection costs a
// long-running process such as optimus-controller, which keeps one per host:
// live heap, goroutines and goroutine stacks per connection after a small
// batch, once garbage is collected. OPTIMUS_CONNS sets how many connections
// are opened (default 50); OPTIMUS_HEAP_PROFILE writes a heap profile with
// them open.
func BenchmarkKeptConnectionMemory(b *testing.B) {
	n := 50
	if v, err := strconv.Atoi(os.Getenv("OPTIMUS_CONNS")); err == nil && v > 0 {
		n = v
	}
	if os.Getenv("OPTIMUS_HEAP_PROFILE") != "" {
		runtime.MemProfileRate = 1
	}
	h := shared(b).Resource()
	for b.Loop() {
		before := measure()
		conns := make([]Conn, 0, n)
		for range n {
			c, err := Dial(context.Background(), h)
			if err != nil {
				b.Fatal(err)
			}
			if rs, err := c.Batch(context.Background(), []Command{{Script: "echo observed"}, {Script: "id -u"}}); err != nil || len(rs) != 2 {
				b.Fatal(rs, err)
			}
			conns = append(conns, c)
		}
		after := measure()
		if p := os.Getenv("OPTIMUS_HEAP_PROFILE"); p != "" {
			if f, err := os.Create(p); err == nil {
				_ = pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
		}
		for _, c := range conns {
			c.Close()
		}
		b.ReportMetric(float64(after.heap-before.heap)/float64(n), "heap-B/conn")
		b.ReportMetric(float64(after.stack-before.stack)/float64(n), "stack-B/conn")
		b.ReportMetric(float64(after.goroutines-before.goroutines)/float64(n), "goroutines/conn")
	}
}

type memFigures struct {
	heap, stack uint64
	goroutines  int
}

func measure() memFigures {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memFigures{heap: m.HeapAlloc, stack: m.StackInuse, goroutines: runtime.NumGoroutine()}
}
