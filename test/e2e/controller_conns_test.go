package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/optimus-cm/optimus"
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/builtin"
	"github.com/optimus-cm/optimus/internal/daemon"
	"github.com/optimus-cm/optimus/test/testhost"
	"github.com/optimus-cm/optimus/transport"
)

// TestControllerKeepsConnections runs the daemon with fewer workers than
// hosts and a short resync, and counts the connections it opens: one per
// host, however many reconcile passes go over them and whichever worker
// picks a host up.
func TestControllerKeepsConnections(t *testing.T) {
	const n, workers, passes = 12, 2, 2
	containers := testhost.Start(t, 3)
	dir := t.TempDir()
	fleetManifests(t, dir, containers, n, nil, func(int) string { return "v1\n" })
	cfg, err := optimus.Config(optimus.WithKinds(builtin.Kinds()...))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	dials := map[string]int{}
	d, err := daemon.New(daemon.Options{
		Dir: dir, Scheme: cfg.Scheme, Registry: cfg.Registry, StateDir: t.TempDir(),
		MaxConcurrentHosts: workers, Resync: 2 * time.Second,
		Dial: func(ctx context.Context, h *v1alpha1.Host) (transport.Conn, error) {
			mu.Lock()
			dials[h.Metadata.Name]++
			mu.Unlock()
			return transport.Dial(ctx, h)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, nil) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	ready := eventually(t, 3*time.Minute, "every host Ready", func() bool { return d.Status().Counts.Ready == n })
	readyAt := time.Now()
	t.Logf("first pass over %d hosts with %d workers: %s", n, workers, ready)
	// Each resync pass starts a new LastRun per host; wait for passes of
	// them after the first pass, each host converged every time.
	runs := map[string]time.Time{}
	seen := map[string]int{}
	eventually(t, 3*time.Minute, "two resync passes over every host", func() bool {
		complete := 0
		for _, h := range d.Status().Hosts {
			name, run := h.Status.Name, h.Status.LastRun
			if run == nil || !run.Start.After(readyAt) || run.Start.Equal(runs[name]) {
				if seen[name] >= passes {
					complete++
				}
				continue
			}
			if run.Result != "converged" {
				t.Fatalf("%s: resync reconcile %s: %s", name, run.Result, h.Status.LastError)
			}
			runs[name] = run.Start
			seen[name]++
			if seen[name] >= passes {
				complete++
			}
		}
		return complete == n
	})

	mu.Lock()
	defer mu.Unlock()
	if len(dials) != n {
		t.Errorf("dialled %d hosts, want %d: %v", len(dials), n, dials)
	}
	for name, k := range dials {
		if k != 1 {
			t.Errorf("%s dialled %d times over the first pass and %d resync passes, want once", name, k, passes)
		}
	}
}
