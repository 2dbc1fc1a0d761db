// Package testenv sets up the conformance suite for the reconcilers of this
// module: one test host per test package, the built-in scheme, and a
// registry of the reconcilers under test.
package testenv

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/manifest"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/reconcilertest"
	"github.com/optimus-cm/optimus/test/testhost"
	"github.com/optimus-cm/optimus/transport"
)

// Suite starts (once per package, through pool) a test host and returns the
// conformance suite for kinds with it.
func Suite(t *testing.T, pool *testhost.Pool, kinds ...reconcilers.Kind) (reconcilertest.Suite, *testhost.Host) {
	t.Helper()
	h := pool.Hosts(t)[0]
	// The first writes to /tmp and /run of a fresh container copy those
	// directories up in the overlay filesystem, which changes the mtime of /
	// that the suite's snapshot sees: make them happen before the suite.
	h.Exec(t, reconcilertest.DefaultSnapshot+" >/dev/null; touch /tmp/.warm /run/.warm /var/tmp/.warm; rm -f /tmp/.warm /run/.warm /var/tmp/.warm")
	scheme, err := v1alpha1.NewScheme(v1alpha1.BuiltinKinds()...)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := reconcilers.NewKindRegistry(kinds...)
	if err != nil {
		t.Fatal(err)
	}
	return reconcilertest.Suite{Scheme: scheme, Registry: reg, Host: h.Resource()}, h
}

// Header is the start of a YAML document of kind.
func Header(kind, name string) string {
	return "apiVersion: " + v1alpha1.APIVersion + "\nkind: " + kind + "\nmetadata:\n  name: " + name + "\nspec:\n"
}

// Run loads doc with the suite's scheme and registry and applies it (or only
// plans, dryRun) on the suite's host; a failed host is in the report, not a
// test failure.
func Run(t *testing.T, s reconcilertest.Suite, doc string, dryRun bool) *controller.Report {
	t.Helper()
	path := filepath.Join(t.TempDir(), "doc.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := (&manifest.Loader{Scheme: s.Scheme, Edges: s.Registry.Dependencies}).Load(path)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	eng := &controller.Engine{Registry: s.Registry, DryRun: dryRun}
	rep, err := eng.Run(context.Background(), []*v1alpha1.Host{s.Host}, set.Resources)
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	return rep
}

// Failure is the reason the suite's host failed in rep, or "".
func Failure(rep *controller.Report) string {
	for _, h := range rep.Failed() {
		return h.Reason()
	}
	return ""
}

// Actions lists the planned actions of every cycle of rep.
func Actions(rep *controller.Report) []controller.PlannedAction {
	var out []controller.PlannedAction
	for _, p := range rep.Plans {
		for _, h := range p.Hosts {
			out = append(out, h.Actions...)
		}
	}
	return out
}

// Notes joins the texts of rep's notes, one a line.
func Notes(rep *controller.Report) string {
	var out []string
	for _, n := range rep.Notes {
		out = append(out, n.Text)
	}
	return strings.Join(out, "\n")
}

// Sh runs script on the host through conn and returns its stdout; a failure
// fails the test.
func Sh(t *testing.T, conn transport.Conn, script string) string {
	t.Helper()
	r, err := transport.Run(t.Context(), conn, script)
	if err != nil || r.ExitCode != 0 {
		t.Fatalf("%s: %v %s", script, err, r.Stderr)
	}
	return string(r.Stdout)
}

// Main runs a conformance test package and removes its test host.
func Main(m *testing.M, pool *testhost.Pool) {
	code := m.Run()
	pool.Close()
	os.Exit(code)
}

// Registry registers kinds as a tool would, for tests that ask the engine's
// view of a kind (its hooks, its dependencies).
func Registry(t *testing.T, kinds ...reconcilers.Kind) *reconcilers.Registry {
	t.Helper()
	reg, err := reconcilers.NewKindRegistry(kinds...)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// Refresher is kind's Refresher as the engine sees it.
func Refresher(t *testing.T, kind reconcilers.Kind) reconcilers.Refresher {
	t.Helper()
	rf, ok := Registry(t, kind).Refresher(kind.Type.Kind)
	if !ok {
		t.Fatalf("%s has no Refresher", kind.Type.Kind)
	}
	return rf
}
