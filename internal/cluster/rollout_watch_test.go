package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/internal/etcdtest"
)

// TestRolloutOutcomesCachedFromTheWatch: while WatchRollout runs, the
// outcomes come from one read and the watch's changes, not a read of every
// outcome per RolloutState; without the watch, each RolloutState reads them.
func TestRolloutOutcomesCachedFromTheWatch(t *testing.T) {
	cli := etcdtest.Start(t).Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := New(Config{Client: cli, Prefix: "/w", ID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	changes := r.WatchRollout(ctx)
	<-changes
	for i := range 50 {
		if _, err := cli.Put(ctx, r.k.outcome(fmt.Sprintf("h%02d", i)), fmt.Sprintf(`{"seq":%d}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cli.Put(ctx, r.k.rolloutState(), `{"current":"d1"}`); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Delete(ctx, r.k.outcome("h07")); err != nil {
		t.Fatal(err)
	}
	var outcomes map[string][]byte
	var state []byte
	deadline := time.Now().Add(30 * time.Second)
	for {
		state, _, outcomes, err = r.RolloutState(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(outcomes) == 49 && outcomes["h07"] == nil || time.Now().After(deadline) {
			break
		}
		select {
		case <-changes:
		case <-time.After(time.Second):
		}
	}
	if len(outcomes) != 49 || string(outcomes["h49"]) != `{"seq":49}` || outcomes["h07"] != nil || string(state) != `{"current":"d1"}` {
		t.Fatalf("state %q, %d outcomes (h49 %q, h07 %q); want the record, 49 outcomes, h07 deleted", state, len(outcomes), outcomes["h49"], outcomes["h07"])
	}
	if n := r.OutcomeReads(); n != 1 {
		t.Errorf("%d reads of every outcome with the watch running; want 1", n)
	}

	other, err := New(Config{Client: cli, Prefix: "/w", ID: "r2"})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, _, outcomes, err := other.RolloutState(ctx); err != nil || len(outcomes) != 49 {
			t.Fatalf("without the watch: %d outcomes, %v", len(outcomes), err)
		}
	}
	if n := other.OutcomeReads(); n != 3 {
		t.Errorf("without the watch, %d reads of every outcome for 3 states; want 3", n)
	}
}
