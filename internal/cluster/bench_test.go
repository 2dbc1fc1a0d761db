package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/internal/etcdtest"
)

// TestStatusWriteRate10000 measures what one resync pass over 10,000 hosts
// costs etcd: every host's status written once, StatusBatch hosts per
// transaction, by one replica owning them all. It prints figures and
// asserts only that every status arrived.
func TestStatusWriteRate10000(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 10,000 keys")
	}
	cli := etcdtest.Start(t).Client(t)
	const n = 10000
	hosts := hostNames(n)
	r := startReplica(t, cli, "a", "d1", hosts)
	waitFor(t, "a owns 10,000 hosts", func() bool { return len(r.Owned()) == n })
	type hostStatus struct {
		Name    string    `json:"name"`
		Ready   bool      `json:"ready"`
		LastRun time.Time `json:"lastRun"`
		Message string    `json:"message"`
	}
	ctx := context.Background()
	before, err := cli.Status(ctx, cli.Endpoints()[0])
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for _, h := range hosts {
		if err := r.PublishStatus(h, hostStatus{Name: h, Ready: true, LastRun: start, Message: "0 changed in 41ms"}); err != nil {
			t.Fatal(err)
		}
	}
	r.flushStatus(ctx)
	// The replica's own status loop may hold part of the burst in a write
	// of its own: the pass is over when every status arrived.
	waitFor(t, "10,000 statuses in etcd", func() bool { return len(fleet(t, cli).Status) == n })
	took := time.Since(start)
	after, err := cli.Status(ctx, cli.Endpoints()[0])
	if err != nil {
		t.Fatal(err)
	}
	txns := after.Header.Revision - before.Header.Revision
	fmt.Printf("BENCH-ETCD-STATUS hosts=%d batch=%d revisions=%d write_time=%s db_size=%dKiB\n",
		n, r.cfg.StatusBatch, txns, took.Round(time.Millisecond), after.DbSize/1024)
}
