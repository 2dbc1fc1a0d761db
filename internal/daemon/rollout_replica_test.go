package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/cluster"
	"github.com/optimus-cm/optimus/internal/etcdtest"
	"github.com/optimus-cm/optimus/reconcilers"
)

// writeFleetVersion writes four hosts and a one-host canary policy; each
// version gives every host another spec, so a new generation.
func writeFleetVersion(t *testing.T, dir string, version int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: optimus.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {name: canary}\nspec: {batches: [\"1\", \"100%\"], maxFail: \"0\"}\n")
	for i := 1; i <= 4; i++ {
		fmt.Fprintf(&b, "---\napiVersion: optimus.dev/v1alpha1\nkind: Host\nmetadata: {name: h%d}\nspec: {address: 127.0.0.1, port: %d, connectTimeout: %ds}\n",
			i, 2200+i, version)
	}
	if err := os.WriteFile(filepath.Join(dir, "fleet.yaml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func newTestReplica(t *testing.T, etcd *etcdtest.Cluster, id, dir string) *Daemon {
	t.Helper()
	scheme, err := v1alpha1.NewScheme(v1alpha1.HostKind, v1alpha1.RolloutPolicyKind)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := reconcilers.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	r, err := cluster.New(cluster.Config{Client: etcd.Client(t), Prefix: "/optimus-test", ID: id})
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Options{Dir: dir, Scheme: scheme, Registry: reg, Replica: r})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.cancelBG)
	return d
}

// TestReplicaLoadsManifestsTheFleetMovedTo: a replica that reads the
// fleet's move to new manifests before it has loaded them itself (it was
// stopped while the others agreed and moved) keeps every host the rollout
// holds on what it had once it loads them. The chaos run found a replica
// resumed after SIGSTOP taking its hosts past a halted rollout: its view of
// the rollout, derived while its manifests differed from the record's, held
// no host.
func TestReplicaLoadsManifestsTheFleetMovedTo(t *testing.T) {
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	dirA, dirB := t.TempDir(), t.TempDir()
	writeFleetVersion(t, dirA, 1)
	writeFleetVersion(t, dirB, 2)
	a, b := newTestReplica(t, etcd, "a", dirA), newTestReplica(t, etcd, "b", dirB)

	a.reload()
	if err := a.moveTo(ctx); err != nil { // the fleet is on version 1
		t.Fatal(err)
	}
	a.mu.Lock()
	v1 := a.desired["h3"]
	a.mu.Unlock()
	b.reload()
	if err := b.moveTo(ctx); err != nil { // and moves to version 2: h1 first, the others held
		t.Fatal(err)
	}
	if st := b.RolloutStatus(); st == nil || st.Pending != 3 {
		t.Fatalf("rollout on b: %+v; want three hosts held", st)
	}

	a.refresh(ctx) // a reads the move while its manifests are still version 1
	a.mu.Lock()
	if want := a.effectiveLocked("h3"); want != nil {
		t.Errorf("before loading version 2, a reconciles h3 to generation %s; want nothing until it is in step", want.generation)
	}
	a.mu.Unlock()

	writeFleetVersion(t, dirA, 2) // then its copy changes, and it loads it
	a.reload()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, name := range []string{"h2", "h3", "h4"} {
		if got := genOf(a.effectiveLocked(name)); got != a.rec.Rollout.Held[name].Generation {
			t.Errorf("%s after a loaded version 2: reconciled to generation %q; want its held generation %s (version 1)", name, got, a.rec.Rollout.Held[name].Generation)
		}
	}
	if got := genOf(a.effectiveLocked("h3")); got != v1.generation {
		t.Errorf("h3: generation %q, want version 1's %s", got, v1.generation)
	}
	if got, want := genOf(a.effectiveLocked("h1")), a.desired["h1"].generation; got != want {
		t.Errorf("h1, the canary: generation %q; want version 2's %s", got, want)
	}
}

// genOf is the generation of a desired state, "" for none (not reconciled).
func genOf(d *desiredHost) string {
	if d == nil {
		return ""
	}
	return d.generation
}
