package reconcilertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/manifest"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/test/testhost"
	"github.com/optimus-cm/optimus/transport"
)

// Suite is what the conformance tests need.
type Suite struct {
	// Scheme knows the kinds of the cases (and Host).
	Scheme *v1alpha1.Scheme
	// Registry has the reconcilers under test.
	Registry *reconcilers.Registry
	// Host is a real host the suite may change.
	Host *v1alpha1.Host
	// Snapshot is a read-only shell command whose output summarises the
	// host's state; it must be the same before and after observing. Default:
	// DefaultSnapshot.
	Snapshot string
}

// DefaultSnapshot is testhost.SnapshotScript: every path of the host
// outside /proc, /sys, /dev and /run with its type, mode, owner, size and
// mtime, and a hash of the files under /tmp, /var and /etc. Only the login
// records an SSH login writes are left out.
const DefaultSnapshot = testhost.SnapshotScript

// Case is one scenario for the suite.
type Case struct {
	// Name of the case, for t.Run.
	Name string
	// Present is YAML of resources (no Host) that change the host when applied.
	Present string
	// Absent is YAML that removes what Present made (state: absent). Optional.
	Absent string
	// Verify, when set, checks the host after Present was applied.
	Verify func(t *testing.T, conn transport.Conn)
	// Invalid holds YAML documents that validation must reject.
	Invalid []string
}

// Run runs every case against the suite's host.
func Run(t *testing.T, s Suite, cases ...Case) {
	t.Helper()
	if s.Snapshot == "" {
		s.Snapshot = DefaultSnapshot
	}
	ctx := context.Background()
	conn, err := transport.Dial(ctx, s.Host)
	if err != nil {
		t.Fatalf("connect to test host: %v", err)
	}
	defer conn.Close()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			s.runCase(ctx, t, conn, c)
		})
	}
}

func (s Suite) runCase(ctx context.Context, t *testing.T, conn transport.Conn, c Case) {
	for i, bad := range c.Invalid {
		before := s.snapshot(ctx, t, conn)
		if _, err := s.load(t, bad); err == nil {
			t.Errorf("invalid[%d] was accepted:\n%s", i, bad)
		}
		if after := s.snapshot(ctx, t, conn); after != before {
			t.Errorf("invalid[%d]: the host changed although validation failed:\n%s", i, snapshotDiff(before, after))
		}
	}
	if c.Present == "" {
		return
	}
	present, err := s.load(t, c.Present)
	if err != nil {
		t.Fatalf("present: %v", err)
	}

	before := s.snapshot(ctx, t, conn)
	plan := s.run(ctx, t, present, true)
	if plan.Cycles != 1 || len(plan.Plans) == 0 {
		t.Fatalf("present: a dry run before apply found nothing to do; the case proves nothing (is the host already converged?)")
	}
	if after := s.snapshot(ctx, t, conn); after != before {
		t.Fatalf("observe changed the host:\n%s", snapshotDiff(before, after))
	}

	applied := s.run(ctx, t, present, false)
	if !applied.Converged {
		t.Fatalf("apply did not converge: %+v", applied.Hosts)
	}
	if c.Verify != nil {
		c.Verify(t, conn)
	}
	if again := s.run(ctx, t, present, true); len(again.Plans) != 0 {
		t.Errorf("plan after apply is not empty: %s", describe(again))
	}
	if second := s.run(ctx, t, present, false); len(second.Plans) != 0 || second.Hosts[0].Changed != 0 {
		t.Errorf("second apply changed something: %s", describe(second))
	}

	if c.Absent == "" {
		return
	}
	absent, err := s.load(t, c.Absent)
	if err != nil {
		t.Fatalf("absent: %v", err)
	}
	if removed := s.run(ctx, t, absent, false); !removed.Converged {
		t.Fatalf("apply absent did not converge: %+v", removed.Hosts)
	}
	if again := s.run(ctx, t, absent, true); len(again.Plans) != 0 {
		t.Errorf("plan after absent is not empty: %s", describe(again))
	}
	if back := s.run(ctx, t, present, true); len(back.Plans) == 0 {
		t.Errorf("after absent, present finds nothing to do: absent did not remove it")
	}
}

// run applies (or, dryRun, plans) resources on the suite's host and fails the
// test on a host failure.
func (s Suite) run(ctx context.Context, t *testing.T, res []*v1alpha1.Resource, dryRun bool) *controller.Report {
	t.Helper()
	eng := &controller.Engine{Registry: s.Registry, DryRun: dryRun}
	rep, err := eng.Run(ctx, []*v1alpha1.Host{s.Host}, res)
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	if f := rep.Failed(); len(f) > 0 {
		t.Fatalf("host failed: %s", f[0].Reason())
	}
	return rep
}

// load validates YAML through the same loader the CLI uses.
func (s Suite) load(t *testing.T, doc string) ([]*v1alpha1.Resource, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "case.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	l := &manifest.Loader{Scheme: s.Scheme, Edges: s.Registry.Dependencies}
	set, err := l.Load(path)
	if err != nil {
		return nil, err
	}
	return set.Resources, nil
}

func (s Suite) snapshot(ctx context.Context, t *testing.T, conn transport.Conn) string {
	t.Helper()
	r, err := transport.Run(ctx, conn, s.Snapshot)
	if err != nil || r.ExitCode != 0 {
		t.Fatalf("snapshot: %v %s", err, r.Stderr)
	}
	return strings.TrimSpace(string(r.Stdout))
}

// snapshotDiff lists the lines of two snapshots that differ.
func snapshotDiff(before, after string) string {
	count := func(s string) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(s, "\n") {
			m[l]++
		}
		return m
	}
	b, a := count(before), count(after)
	var d []string
	for l, n := range b {
		if a[l] != n {
			d = append(d, "- "+l)
		}
	}
	for l, n := range a {
		if b[l] != n {
			d = append(d, "+ "+l)
		}
	}
	sort.Strings(d)
	return strings.Join(d, "\n")
}

func describe(r *controller.Report) string {
	var b strings.Builder
	for _, p := range r.Plans {
		for _, h := range p.Hosts {
			for _, a := range h.Actions {
				fmt.Fprintf(&b, "\n  %s: %s: %s", h.Host, a.Resource, a.Description)
			}
		}
	}
	return b.String()
}
