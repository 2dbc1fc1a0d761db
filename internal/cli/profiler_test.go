package cli

import (
	"log/slog"
	"strings"
	"testing"
)

func TestProfilerOnlyOnLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:6060", ":6060", "nonsense"} {
		stop, err := serveProfiler(addr, slog.New(slog.DiscardHandler))
		if err == nil {
			stop()
			t.Errorf("--debug-pprof %s was accepted", addr)
			continue
		}
		if !strings.Contains(err.Error(), "--debug-pprof "+addr) {
			t.Errorf("error does not name the flag and address: %v", err)
		}
	}
	stop, err := serveProfiler("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("loopback refused: %v", err)
	}
	stop()
}
