package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// markerSpec is a test kind: a key that must hold a value on the fake host.
type markerSpec struct {
	v1alpha1.Targeting `json:",inline"`
	Value              string `json:"value"`
	// Flaky makes the reconciler always report a difference.
	Flaky bool `json:"flaky"`
}

type markerReconciler struct{}

func (markerReconciler) Kind() string { return "Marker" }

func (markerReconciler) Queries(*v1alpha1.Host, []*v1alpha1.Resource) []reconcilers.Query {
	return []reconcilers.Query{{Key: "dump", Script: "dump"}}
}

func (markerReconciler) Plan(_ context.Context, req reconcilers.Request) ([]reconcilers.Action, error) {
	s := req.Resource.Spec.(*markerSpec)
	if s.Value == "unplannable" {
		return nil, errors.New("the value cannot be planned")
	}
	out, err := req.Facts.Stdout("dump")
	if err != nil {
		return nil, err
	}
	cur := ""
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && k == req.Resource.Metadata.Name {
			cur = v
		}
	}
	if cur == s.Value && !s.Flaky {
		return nil, nil
	}
	return []reconcilers.Action{{
		Op:          reconcilers.OpUpdate,
		Description: "set " + req.Resource.Metadata.Name,
		Changes:     []reconcilers.Change{{Field: "value", Before: cur, After: s.Value}},
		Script:      "set " + req.Resource.Metadata.Name + " " + s.Value,
	}}, nil
}

// fakeHost is an in-memory host that understands the marker scripts and
// keeps the batch semantics of the real transports (After guards).
type fakeHost struct {
	mu       sync.Mutex
	values   map[string]string
	failOn   string // a key whose set fails
	down     bool
	batches  int
	combined int // setmany commands run
	lastAct  int // commands in the last batch
	loseAt   int // the batch (counted from 1) whose connection drops; 0 never
	// loseAfter is how many results of that batch come back, and
	// ranAfterLoss how many more commands run before it drops.
	loseAfter, ranAfterLoss int
	goesDown                bool       // the host refuses connections once it dropped one
	lostErr                 error      // what the dropped batch returns instead of a plain reset
	scripts                 [][]string // the scripts of every batch
	// hangOn is a key whose set (or "dump" for observe) waits until the
	// batch's context ends, as a command reading a held pipe does; the
	// batch then fails as the real transports fail a stopped batch.
	hangOn string
	// hanging, when set, is closed once a batch hangs.
	hanging chan struct{}
}

// hang waits for the end of ctx and fails the batch after done commands.
func (h *fakeHost) hang(ctx context.Context, res []transport.Result, done int) ([]transport.Result, error) {
	if h.hanging != nil {
		close(h.hanging)
		h.hanging = nil
	}
	<-ctx.Done()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return res[:done], &transport.ConnectError{Host: "fake", Reason: transport.ReasonTimeout, Err: context.Cause(ctx)}
	}
	return res[:done], fmt.Errorf("batch interrupted: %w", context.Cause(ctx))
}

func (h *fakeHost) Batch(ctx context.Context, cmds []transport.Command) ([]transport.Result, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.batches++
	h.lastAct = len(cmds)
	var scripts []string
	for _, c := range cmds {
		scripts = append(scripts, c.Script)
	}
	h.scripts = append(h.scripts, scripts)
	if h.batches == h.loseAt && h.loseAfter == 0 && h.ranAfterLoss == 0 {
		if h.goesDown {
			h.down = true
		}
		if h.lostErr != nil {
			return nil, h.lostErr
		}
		return nil, errors.New("connection reset")
	}
	res := make([]transport.Result, len(cmds))
	for i, c := range cmds {
		skip := false
		for _, a := range c.After {
			if !res[a].OK() {
				skip = true
			}
		}
		if skip {
			res[i] = transport.Result{Skipped: true, ExitCode: -1}
			continue
		}
		f := strings.Fields(c.Script)
		if h.hangOn != "" && (f[0] == "dump" && h.hangOn == "dump" || f[0] == "set" && f[1] == h.hangOn) {
			return h.hang(ctx, res, i)
		}
		if h.batches == h.loseAt && i == h.loseAfter+h.ranAfterLoss {
			return res[:h.loseAfter], &transport.ConnectError{Host: "a", Reason: transport.ReasonLost, Err: errors.New("connection reset by the fake")}
		}
		switch f[0] {
		case "dump":
			var b strings.Builder
			for k, v := range h.values {
				fmt.Fprintf(&b, "%s=%s\n", k, v)
			}
			res[i].Stdout = []byte(b.String())
		case "setmany":
			// One transaction: a bad key sets nothing.
			h.combined++
			bad := ""
			for _, kv := range f[1:] {
				if k, _, _ := strings.Cut(kv, "="); k == h.failOn {
					bad = k
				}
			}
			if bad != "" {
				res[i] = transport.Result{ExitCode: 1, Stderr: []byte("setmany: nothing set")}
				continue
			}
			for _, kv := range f[1:] {
				k, v, _ := strings.Cut(kv, "=")
				h.values[k] = v
			}
		case "set":
			if f[1] == h.failOn {
				res[i] = transport.Result{ExitCode: 1, Stderr: []byte("disk on fire")}
				continue
			}
			h.values[f[1]] = f[2]
		}
	}
	return res, nil
}

func (h *fakeHost) Close() error { return nil }

type fakeFleet map[string]*fakeHost

func (f fakeFleet) dial(_ context.Context, h *v1alpha1.Host) (transport.Conn, error) {
	fh := f[h.Metadata.Name]
	if fh.down {
		return nil, errors.New("connection refused")
	}
	return fh, nil
}

func host(name string, labels map[string]string) *v1alpha1.Host {
	return &v1alpha1.Host{Metadata: v1alpha1.ObjectMeta{Name: name, Labels: labels}, Spec: &v1alpha1.HostSpec{}}
}

func marker(name, value string, sel map[string]string, deps ...string) *v1alpha1.Resource {
	s := &markerSpec{Value: value}
	if sel != nil {
		s.HostSelector = &v1alpha1.LabelSelector{MatchLabels: sel}
	}
	for _, d := range deps {
		s.DependsOn = append(s.DependsOn, v1alpha1.ResourceRef{Kind: "Marker", Name: d})
	}
	return &v1alpha1.Resource{TypeMeta: v1alpha1.TypeMeta{Kind: "Marker"}, Metadata: v1alpha1.ObjectMeta{Name: name}, Spec: s}
}

func newEngine(t *testing.T, fleet fakeFleet) *Engine {
	reg, err := reconcilers.NewRegistry(markerReconciler{})
	if err != nil {
		t.Fatal(err)
	}
	return &Engine{Registry: reg, Dial: fleet.dial}
}

func TestConvergesAndSecondRunIsNoop(t *testing.T) {
	fleet := fakeFleet{"a": {values: map[string]string{}}, "b": {values: map[string]string{}}}
	hosts := []*v1alpha1.Host{host("a", map[string]string{"role": "web"}), host("b", nil)}
	res := []*v1alpha1.Resource{marker("m1", "x", nil), marker("m2", "y", map[string]string{"role": "web"})}
	eng := newEngine(t, fleet)
	rep, err := eng.Run(context.Background(), hosts, res)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Converged || rep.Cycles != 2 {
		t.Fatalf("converged=%v cycles=%d, want converged in 2 cycles", rep.Converged, rep.Cycles)
	}
	if got := fleet["a"].values; got["m1"] != "x" || got["m2"] != "y" {
		t.Errorf("host a = %v", got)
	}
	if got := fleet["b"].values; got["m1"] != "x" || len(got) != 1 {
		t.Errorf("host b = %v, want only m1", got)
	}
	for _, h := range rep.Hosts {
		if h.RoundTrips != 3 || h.Connects != 1 {
			t.Errorf("%s: %d round trips, %d connects; want 3 (observe, act, observe) over 1 connection", h.Host, h.RoundTrips, h.Connects)
		}
	}
	rep, err = eng.Run(context.Background(), hosts, res)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Converged || rep.Cycles != 1 || len(rep.Plans) != 0 || rep.Hosts[0].RoundTrips != 1 {
		t.Errorf("second run: converged=%v cycles=%d plans=%d roundTrips=%d; want a one-round-trip no-op",
			rep.Converged, rep.Cycles, len(rep.Plans), rep.Hosts[0].RoundTrips)
	}
}

func TestFailureSkipsDependentsAndQuarantinesHostOnly(t *testing.T) {
	fleet := fakeFleet{"a": {values: map[string]string{}, failOn: "base"}, "b": {values: map[string]string{}}}
	hosts := []*v1alpha1.Host{host("a", nil), host("b", nil)}
	res := []*v1alpha1.Resource{marker("app", "1", nil, "base"), marker("base", "1", nil), marker("other", "1", nil)}
	rep, err := newEngine(t, fleet).Run(context.Background(), hosts, res)
	if err != nil {
		t.Fatal(err)
	}
	a, b := rep.Hosts[0], rep.Hosts[1]
	if a.State != HostFailed || !strings.Contains(a.Reason(), "Marker/base") || !strings.Contains(a.Reason(), "disk on fire") {
		t.Errorf("host a = %+v, want failed naming Marker/base and the error", a)
	}
	if a.Failed != 1 || a.Skipped != 1 || a.Changed != 1 {
		t.Errorf("host a failed/skipped/changed = %d/%d/%d, want 1/1/1", a.Failed, a.Skipped, a.Changed)
	}
	if _, ok := fleet["a"].values["app"]; ok {
		t.Error("app was set although base, which it depends on, failed")
	}
	if fleet["a"].values["other"] != "1" {
		t.Error("other, independent of base, was not set")
	}
	if b.State != HostConverged || fleet["b"].values["app"] != "1" {
		t.Errorf("host b = %+v values %v, want converged", b, fleet["b"].values)
	}
	if rep.Converged != true {
		t.Error("healthy hosts converged, so the run should report converged")
	}
}

func TestUnreachableHostIsQuarantined(t *testing.T) {
	fleet := fakeFleet{"a": {values: map[string]string{}, down: true}, "b": {values: map[string]string{}}}
	rep, err := newEngine(t, fleet).Run(context.Background(), []*v1alpha1.Host{host("a", nil), host("b", nil)},
		[]*v1alpha1.Resource{marker("m", "1", nil)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Hosts[0].State != HostFailed || !strings.Contains(rep.Hosts[0].Reason(), "connection refused") {
		t.Errorf("host a = %+v", rep.Hosts[0])
	}
	if rep.Hosts[1].State != HostConverged {
		t.Errorf("host b = %+v", rep.Hosts[1])
	}
}

func TestNonConvergenceNamesResource(t *testing.T) {
	fleet := fakeFleet{"a": {values: map[string]string{}}}
	flaky := marker("flaky", "1", nil)
	flaky.Spec.(*markerSpec).Flaky = true
	eng := newEngine(t, fleet)
	eng.MaxCycles = 3
	rep, err := eng.Run(context.Background(), []*v1alpha1.Host{host("a", nil)}, []*v1alpha1.Resource{flaky, marker("ok", "1", nil)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Converged || len(rep.Unconverged) != 1 || rep.Unconverged[0] != (HostResource{Host: "a", Ref: v1alpha1.ResourceRef{Kind: "Marker", Name: "flaky"}}) {
		t.Errorf("unconverged = %v (converged %v), want [a: Marker/flaky]", rep.Unconverged, rep.Converged)
	}
	if rep.Cycles != 4 || fleet["a"].batches != 7 {
		t.Errorf("cycles=%d batches=%d, want 3 act phases and 4 observes", rep.Cycles, fleet["a"].batches)
	}
}

func TestDryRunNeverActs(t *testing.T) {
	fleet := fakeFleet{"a": {values: map[string]string{}}}
	eng := newEngine(t, fleet)
	eng.DryRun = true
	rep, err := eng.Run(context.Background(), []*v1alpha1.Host{host("a", nil)}, []*v1alpha1.Resource{marker("m", "1", nil)})
	if err != nil {
		t.Fatal(err)
	}
	if len(fleet["a"].values) != 0 || fleet["a"].batches != 1 || rep.Hosts[0].State != HostDiffers {
		t.Errorf("dry run changed the host or read it more than once: %v, %d batches, state %s", fleet["a"].values, fleet["a"].batches, rep.Hosts[0].State)
	}
}

func TestDeclinedPlanChangesNothing(t *testing.T) {
	fleet := fakeFleet{"a": {values: map[string]string{}}}
	eng := newEngine(t, fleet)
	eng.Confirm = func(context.Context, *Plan) (bool, error) { return false, nil }
	rep, err := eng.Run(context.Background(), []*v1alpha1.Host{host("a", nil)}, []*v1alpha1.Resource{marker("m", "1", nil)})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Declined || len(fleet["a"].values) != 0 {
		t.Errorf("declined=%v values=%v", rep.Declined, fleet["a"].values)
	}
}

func TestDependencyCycleIsAnError(t *testing.T) {
	fleet := fakeFleet{"a": {values: map[string]string{}}}
	_, err := newEngine(t, fleet).Run(context.Background(), []*v1alpha1.Host{host("a", nil)},
		[]*v1alpha1.Resource{marker("x", "1", nil, "y"), marker("y", "1", nil, "x")})
	if err == nil || !strings.Contains(err.Error(), "Marker/x -> Marker/y -> Marker/x") {
		t.Errorf("err = %v, want the cycle named", err)
	}
}

func TestInterruptBeforeActChangesNothing(t *testing.T) {
	fleet := fakeFleet{"a": {values: map[string]string{}}}
	eng := newEngine(t, fleet)
	ctx, cancel := context.WithCancel(context.Background())
	// Ctrl-C while the plan is shown: nothing may start afterwards.
	eng.Confirm = func(context.Context, *Plan) (bool, error) { cancel(); return true, nil }
	rep, err := eng.Run(ctx, []*v1alpha1.Host{host("a", nil)}, []*v1alpha1.Resource{marker("m", "1", nil)})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted || len(fleet["a"].values) != 0 || rep.Hosts[0].State != HostInterrupted || rep.Hosts[0].NotRun != 1 {
		t.Errorf("interrupted=%v values=%v state=%s", rep.Interrupted, fleet["a"].values, rep.Hosts[0].State)
	}
}

// bundleReconciler is markerReconciler whose actions a Combiner merges.
type bundleReconciler struct{ markerReconciler }

func (bundleReconciler) Kind() string { return "Bundle" }

func (bundleReconciler) Combinable(req reconcilers.Request, _ reconcilers.Action) (string, []string) {
	return "values", []string{req.Resource.Metadata.Name + "=" + req.Resource.Spec.(*markerSpec).Value}
}

func (bundleReconciler) Combine(_ string, items []string) string {
	return "setmany " + strings.Join(items, " ")
}

func bundle(name, value string, deps ...v1alpha1.ResourceRef) *v1alpha1.Resource {
	r := marker(name, value, nil)
	r.Kind = "Bundle"
	r.Spec.(*markerSpec).DependsOn = deps
	return r
}

func TestCombinerMergesActionsIntoOneCommand(t *testing.T) {
	reg, err := reconcilers.NewRegistry(markerReconciler{}, bundleReconciler{})
	if err != nil {
		t.Fatal(err)
	}
	fleet := fakeFleet{"a": {values: map[string]string{}}}
	eng := &Engine{Registry: reg, Dial: fleet.dial}
	res := []*v1alpha1.Resource{bundle("p1", "1"), marker("m", "1", nil), bundle("p2", "2")}
	rep, err := eng.Run(context.Background(), []*v1alpha1.Host{host("a", nil)}, res)
	if err != nil {
		t.Fatal(err)
	}
	h := fleet["a"]
	if !rep.Converged || h.combined != 1 || h.values["p1"] != "1" || h.values["p2"] != "2" {
		t.Fatalf("converged=%v combined=%d values=%v", rep.Converged, h.combined, h.values)
	}
	for _, a := range rep.Plans[0].Hosts[0].Actions {
		if a.Status != StatusOK {
			t.Errorf("%s: %s", a.Resource, a.Status)
		}
	}

	// Something between the members that depends on the first keeps them apart.
	fleet = fakeFleet{"a": {values: map[string]string{}}}
	eng.Dial = fleet.dial
	dep := marker("after-p1", "1", nil)
	dep.Spec.(*markerSpec).DependsOn = []v1alpha1.ResourceRef{{Kind: "Bundle", Name: "p1"}}
	res = []*v1alpha1.Resource{bundle("p1", "1"), dep, bundle("p2", "2")}
	if rep, err = eng.Run(context.Background(), []*v1alpha1.Host{host("a", nil)}, res); err != nil || !rep.Converged {
		t.Fatalf("%v %+v", err, rep)
	}
	if fleet["a"].combined != 0 {
		t.Errorf("merged although Marker/after-p1 must run between the two")
	}
}

// pathsReconciler declares a paths query and plans nothing.
type pathsReconciler struct{ kind, path string }

func (p pathsReconciler) Kind() string { return p.kind }
func (p pathsReconciler) Queries(*v1alpha1.Host, []*v1alpha1.Resource) []reconcilers.Query {
	return []reconcilers.Query{reconcilers.PathsQuery([]reconcilers.PathRequest{{Path: p.path}})}
}
func (pathsReconciler) Plan(context.Context, reconcilers.Request) ([]reconcilers.Action, error) {
	return nil, nil
}

func TestPathQueriesOfAllKindsAreOneCommand(t *testing.T) {
	reg, err := reconcilers.NewRegistry(pathsReconciler{"A", "/a"}, pathsReconciler{"B", "/b"}, markerReconciler{})
	if err != nil {
		t.Fatal(err)
	}
	fleet := fakeFleet{"h": {values: map[string]string{}}}
	res := []*v1alpha1.Resource{marker("m", "", nil), marker("x", "", nil), marker("y", "", nil)}
	res[1].Kind, res[2].Kind = "A", "B"
	if _, err := (&Engine{Registry: reg, Dial: fleet.dial}).Run(context.Background(), []*v1alpha1.Host{host("h", nil)}, res); err != nil {
		t.Fatal(err)
	}
	if got := fleet["h"].lastAct; got != 2 {
		t.Errorf("observe sent %d commands, want 2 (the marker dump and one paths query for both kinds)", got)
	}
}

// TestErrorsKeepTheirType: the report keeps the error values, so a caller
// can tell a host-key mismatch from a refused connection, and scrubs
// secrets only from the text it shows.
func TestErrorsKeepTheirType(t *testing.T) {
	fleet := fakeFleet{"a": {values: map[string]string{}, failOn: "m"}, "b": {values: map[string]string{}}}
	eng := newEngine(t, fleet)
	eng.Dial = func(ctx context.Context, h *v1alpha1.Host) (transport.Conn, error) {
		if h.Metadata.Name == "b" {
			return nil, &transport.ConnectError{Host: "b", Addr: "127.0.0.1:22", Reason: transport.ReasonHostKey, Err: errors.New("host key mismatch")}
		}
		return fleet.dial(ctx, h)
	}
	rep, err := eng.Run(context.Background(), []*v1alpha1.Host{host("a", nil), host("b", nil)}, []*v1alpha1.Resource{marker("m", "1", nil)})
	if err != nil {
		t.Fatal(err)
	}
	a, b := rep.Hosts[0], rep.Hosts[1]
	var ae *ActionError
	if !errors.As(a.Err, &ae) || ae.ExitCode != 1 || ae.Output != "disk on fire" {
		t.Errorf("a: Err = %#v, want an ActionError", a.Err)
	}
	if !transport.IsTerminal(b.Err) {
		t.Errorf("b: Err = %v, want the terminal ConnectError", b.Err)
	}
	if got := rep.Plans[0].Hosts[0].Actions[0]; got.Err != ae && !errors.Is(a.Err, got.Err) {
		t.Errorf("the failed action's Err %v is not the host's cause %v", got.Err, a.Err)
	}
}

// TestShownErrorsAreScrubbed: a secret echoed by a failing command stays in
// the error value but never in the text shown or written as JSON.
func TestShownErrorsAreScrubbed(t *testing.T) {
	red := &redactor{}
	red.add("hunter22")
	pa := PlannedAction{Err: &ActionError{ExitCode: 1, Output: "bad password hunter22"}, red: red}
	h := HostReport{Err: fmt.Errorf("User/alice: set password: %w", pa.Err), red: red}
	for _, s := range []string{pa.ErrorText(), h.Reason(), mustJSON(t, pa), mustJSON(t, h)} {
		if strings.Contains(s, "hunter22") || !strings.Contains(s, reconcilers.Redacted) {
			t.Errorf("shown text %q", s)
		}
	}
	if !strings.Contains(h.Err.Error(), "hunter22") {
		t.Error("the error value lost its detail")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPlanErrorFailsItsResourceOnly: a resource that cannot be planned
// fails with its reason and skips what depends on it; the rest of its host
// is acted on in the same cycle, and the host ends failed as after a failed
// action.
func TestPlanErrorFailsItsResourceOnly(t *testing.T) {
	fleet := fakeFleet{"a": {values: map[string]string{}}, "b": {values: map[string]string{}}}
	eng := newEngine(t, fleet)
	res := []*v1alpha1.Resource{marker("bad", "unplannable", map[string]string{"role": "a"}),
		marker("after-bad", "1", nil, "bad"), marker("other", "1", nil)}
	rep, err := eng.Run(context.Background(), []*v1alpha1.Host{host("a", map[string]string{"role": "a"}), host("b", nil)}, res)
	if err != nil {
		t.Fatal(err)
	}
	a, b := rep.Hosts[0], rep.Hosts[1]
	var perr *PlanError
	if a.State != HostFailed || !errors.As(a.Err, &perr) || perr.Resource.Name != "bad" || a.Failed != 1 || a.Skipped != 1 || a.Changed != 1 {
		t.Fatalf("a: %+v (reason %q)", a, a.Reason())
	}
	if fleet["a"].values["other"] != "1" || fleet["a"].values["after-bad"] != "" {
		t.Errorf("a: values %v, want other set and after-bad skipped", fleet["a"].values)
	}
	if fleet["a"].batches != 2 {
		t.Errorf("a: %d round trips, want one observe and one act", fleet["a"].batches)
	}
	statuses := map[string]ActionStatus{}
	for _, pa := range rep.Plans[0].Hosts[0].Actions {
		statuses[pa.Resource.Name] = pa.Status
	}
	if statuses["bad"] != StatusFailed || statuses["after-bad"] != StatusSkipped || statuses["other"] != StatusOK {
		t.Errorf("statuses %v", statuses)
	}
	// The host the bad resource does not target converges, and so does the
	// run for every healthy host.
	if b.State != HostConverged || fleet["b"].values["after-bad"] != "1" || !rep.Converged {
		t.Errorf("b: %+v values %v converged %v", b, fleet["b"].values, rep.Converged)
	}

	// In diff mode the failure is shown, nothing runs, and the host fails.
	fleet = fakeFleet{"a": {values: map[string]string{}}, "b": {values: map[string]string{}}}
	eng = newEngine(t, fleet)
	eng.DryRun = true
	rep, err = eng.Run(context.Background(), []*v1alpha1.Host{host("a", map[string]string{"role": "a"})}, res)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Hosts[0].State != HostFailed || len(fleet["a"].values) != 0 || len(rep.Plans) != 1 {
		t.Errorf("diff: %+v values %v", rep.Hosts[0], fleet["a"].values)
	}
}

// twoScripts declares one private query key with two scripts.
type twoScripts struct{ markerReconciler }

func (twoScripts) Kind() string { return "TwoScripts" }
func (twoScripts) Queries(*v1alpha1.Host, []*v1alpha1.Resource) []reconcilers.Query {
	return []reconcilers.Query{{Key: "dump", Script: "dump"}, {Key: "dump", Script: "dump all"}}
}

// TestPrivateQueryKeysOfKindsDoNotClash: two kinds may use one Key for
// different scripts; a kind that contradicts itself fails its own resources
// only.
func TestPrivateQueryKeysOfKindsDoNotClash(t *testing.T) {
	reg, err := reconcilers.NewRegistry(markerReconciler{}, twoScripts{}, pathsReconciler{"A", "/a"})
	if err != nil {
		t.Fatal(err)
	}
	fleet := fakeFleet{"h": {values: map[string]string{}}}
	bad := marker("bad", "1", nil)
	bad.Kind = "TwoScripts"
	rep, err := (&Engine{Registry: reg, Dial: fleet.dial}).Run(context.Background(), []*v1alpha1.Host{host("h", nil)},
		[]*v1alpha1.Resource{marker("m", "1", nil), bad})
	if err != nil {
		t.Fatal(err)
	}
	h := rep.Hosts[0]
	var perr *PlanError
	if !errors.As(h.Err, &perr) || perr.Resource.Kind != "TwoScripts" || !strings.Contains(h.Reason(), "two different scripts") {
		t.Fatalf("host: %+v %q", h, h.Reason())
	}
	if fleet["h"].values["m"] != "1" {
		t.Errorf("Marker/m was not converged next to the faulty kind: %v", fleet["h"].values)
	}
}

// notingReconciler is the marker plus a note on every plan: a difference
// the host withholds.
type notingReconciler struct{ markerReconciler }

func (notingReconciler) Kind() string { return "Noting" }

func (n notingReconciler) Plan(ctx context.Context, req reconcilers.Request) ([]reconcilers.Action, error) {
	actions, err := n.markerReconciler.Plan(ctx, req)
	return append(actions, reconcilers.Note("live value withheld")), err
}

func TestNotesAreReportedNeverActedOn(t *testing.T) {
	fleet := fakeFleet{"a": {values: map[string]string{}}}
	reg, err := reconcilers.NewRegistry(notingReconciler{})
	if err != nil {
		t.Fatal(err)
	}
	eng := &Engine{Registry: reg, Dial: fleet.dial}
	res := marker("n1", "x", nil)
	res.Kind = "Noting"
	want := []Note{{Host: "a", Resource: v1alpha1.ResourceRef{Kind: "Noting", Name: "n1"}, Text: "live value withheld"}}
	for i, dryRun := range []bool{false, false, true} {
		eng.DryRun = dryRun
		rep, err := eng.Run(context.Background(), []*v1alpha1.Host{host("a", nil)}, []*v1alpha1.Resource{res})
		if err != nil {
			t.Fatal(err)
		}
		// The first run acts once and converges; the note is neither an
		// action nor a change, so later runs have no plan at all.
		wantPlans := 0
		if i == 0 {
			wantPlans = 1
		}
		if !rep.Converged || len(rep.Plans) != wantPlans || !slices.Equal(rep.Notes, want) {
			t.Errorf("run %d: converged=%v plans=%d notes=%+v; want converged, %d plans, %+v", i, rep.Converged, len(rep.Plans), rep.Notes, wantPlans, want)
		}
		for _, p := range rep.Plans {
			if p.Count() != 1 || p.Hosts[0].Actions[0].Op == reconcilers.OpNote {
				t.Errorf("run %d: plan holds %d actions, first %+v", i, p.Count(), p.Hosts[0].Actions[0])
			}
		}
	}
}

// actionsByResource maps "Kind/name" to the outcome of its only action in
// the run's first plan.
func actionsByResource(t *testing.T, rep *Report) map[string]PlannedAction {
	t.Helper()
	if len(rep.Plans) == 0 || len(rep.Plans[0].Hosts) != 1 {
		t.Fatalf("want one plan for one host, got %+v", rep.Plans)
	}
	out := map[string]PlannedAction{}
	for _, a := range rep.Plans[0].Hosts[0].Actions {
		out[a.Resource.String()] = a
	}
	return out
}

// A merged command that fails is retried member by member: only the bad
// member fails, with its own output; the others are set and what depends
// only on them runs; what depends on the bad one is skipped.
func TestFailedCombinedCommandRetriesEachMember(t *testing.T) {
	reg, err := reconcilers.NewRegistry(markerReconciler{}, bundleReconciler{})
	if err != nil {
		t.Fatal(err)
	}
	fleet := fakeFleet{"a": {values: map[string]string{}, failOn: "p3"}}
	eng := &Engine{Registry: reg, Dial: fleet.dial}
	b := func(name string) v1alpha1.ResourceRef { return v1alpha1.ResourceRef{Kind: "Bundle", Name: name} }
	good := marker("needs-good", "1", nil)
	good.Spec.(*markerSpec).DependsOn = []v1alpha1.ResourceRef{b("p1"), b("p2"), b("p4"), b("p5")}
	bad := marker("needs-bad", "1", nil)
	bad.Spec.(*markerSpec).DependsOn = []v1alpha1.ResourceRef{b("p3")}
	res := []*v1alpha1.Resource{bundle("p1", "1"), bundle("p2", "2"), bundle("p3", "3"), bundle("p4", "4"), bundle("p5", "5"),
		good, bad, marker("other", "1", nil)}
	rep, err := eng.Run(context.Background(), []*v1alpha1.Host{host("a", nil)}, res)
	if err != nil {
		t.Fatal(err)
	}
	h, hr := fleet["a"], rep.Hosts[0]
	if h.combined != 1 {
		t.Fatalf("the bundles were merged into %d commands, want 1 (the test proves nothing otherwise)", h.combined)
	}
	want := map[string]string{"p1": "1", "p2": "2", "p4": "4", "p5": "5", "needs-good": "1", "other": "1"}
	if fmt.Sprint(h.values) != fmt.Sprint(want) {
		t.Errorf("host values %v, want %v", h.values, want)
	}
	acts := actionsByResource(t, rep)
	for _, ref := range []string{"Bundle/p1", "Bundle/p2", "Bundle/p4", "Bundle/p5", "Marker/needs-good", "Marker/other"} {
		if acts[ref].Status != StatusOK {
			t.Errorf("%s: %s (%v), want ok", ref, acts[ref].Status, acts[ref].Err)
		}
	}
	var ae *ActionError
	if p3 := acts["Bundle/p3"]; p3.Status != StatusFailed || !errors.As(p3.Err, &ae) || ae.Output != "disk on fire" {
		t.Errorf("Bundle/p3: %s %v, want failed with its own output", p3.Status, p3.Err)
	}
	if nb := acts["Marker/needs-bad"]; nb.Status != StatusSkipped || !errors.Is(nb.Err, ErrDependencyFailed) {
		t.Errorf("Marker/needs-bad: %s %v, want skipped", nb.Status, nb.Err)
	}
	if hr.State != HostFailed || !strings.Contains(hr.Reason(), "Bundle/p3") || hr.Changed != 6 || hr.Failed != 1 || hr.Skipped != 1 {
		t.Errorf("host %s (%s): changed/failed/skipped %d/%d/%d, want failed naming Bundle/p3, 6/1/1",
			hr.State, hr.Reason(), hr.Changed, hr.Failed, hr.Skipped)
	}
	// Observe, the merged act, the retry.
	if hr.RoundTrips != 3 || h.batches != 3 {
		t.Errorf("%d round trips (%d batches), want 3", hr.RoundTrips, h.batches)
	}
}

// A merged command skipped because one member's prerequisite failed is
// retried for the members whose own prerequisites succeeded.
func TestSkippedCombinedCommandRunsMembersThatCan(t *testing.T) {
	reg, err := reconcilers.NewRegistry(markerReconciler{}, bundleReconciler{})
	if err != nil {
		t.Fatal(err)
	}
	fleet := fakeFleet{"a": {values: map[string]string{}, failOn: "base"}}
	eng := &Engine{Registry: reg, Dial: fleet.dial}
	res := []*v1alpha1.Resource{marker("base", "1", nil), bundle("q1", "1", v1alpha1.ResourceRef{Kind: "Marker", Name: "base"}),
		bundle("q2", "2"), bundle("q3", "3")}
	rep, err := eng.Run(context.Background(), []*v1alpha1.Host{host("a", nil)}, res)
	if err != nil {
		t.Fatal(err)
	}
	h := fleet["a"]
	if want := map[string]string{"q2": "2", "q3": "3"}; fmt.Sprint(h.values) != fmt.Sprint(want) {
		t.Errorf("host values %v, want %v", h.values, want)
	}
	acts := actionsByResource(t, rep)
	if acts["Bundle/q1"].Status != StatusSkipped || acts["Bundle/q2"].Status != StatusOK || acts["Bundle/q3"].Status != StatusOK ||
		acts["Marker/base"].Status != StatusFailed {
		t.Errorf("statuses base/q1/q2/q3 = %s/%s/%s/%s, want failed/skipped/ok/ok",
			acts["Marker/base"].Status, acts["Bundle/q1"].Status, acts["Bundle/q2"].Status, acts["Bundle/q3"].Status)
	}
	if hr := rep.Hosts[0]; !strings.Contains(hr.Reason(), "Marker/base") || hr.RoundTrips != 3 {
		t.Errorf("host: %s in %d round trips, want Marker/base's failure in 3", hr.Reason(), hr.RoundTrips)
	}
}

// The success path keeps one act round trip: nothing is sent again.
func TestSucceededCombinedCommandIsNotRetried(t *testing.T) {
	reg, err := reconcilers.NewRegistry(markerReconciler{}, bundleReconciler{})
	if err != nil {
		t.Fatal(err)
	}
	fleet := fakeFleet{"a": {values: map[string]string{}}}
	eng := &Engine{Registry: reg, Dial: fleet.dial}
	rep, err := eng.Run(context.Background(), []*v1alpha1.Host{host("a", nil)}, []*v1alpha1.Resource{bundle("p1", "1"), bundle("p2", "2")})
	if err != nil {
		t.Fatal(err)
	}
	// Observe and act, then the observe that finds nothing to do.
	if hr := rep.Hosts[0]; !rep.Converged || hr.RoundTrips != 3 || rep.Cycles != 2 || fleet["a"].combined != 1 {
		t.Errorf("converged=%v cycles=%d round trips=%d merged=%d; want 2 cycles, 3 round trips, 1 merged command",
			rep.Converged, rep.Cycles, hr.RoundTrips, fleet["a"].combined)
	}
}

// A connection lost during the retry leaves what it carried unconfirmed;
// what the first round trip did stands.
func TestRetryLostKeepsFirstOutcomes(t *testing.T) {
	reg, err := reconcilers.NewRegistry(markerReconciler{}, bundleReconciler{})
	if err != nil {
		t.Fatal(err)
	}
	fleet := fakeFleet{"a": {values: map[string]string{}, failOn: "p2", loseAt: 3}}
	eng := &Engine{Registry: reg, Dial: fleet.dial}
	rep, err := eng.Run(context.Background(), []*v1alpha1.Host{host("a", nil)},
		[]*v1alpha1.Resource{bundle("p1", "1"), bundle("p2", "2"), marker("other", "1", nil)})
	if err != nil {
		t.Fatal(err)
	}
	acts := actionsByResource(t, rep)
	if o := acts["Marker/other"]; o.Status != StatusOK {
		t.Errorf("Marker/other: %s %v, want ok from the first round trip", o.Status, o.Err)
	}
	for _, ref := range []string{"Bundle/p1", "Bundle/p2"} {
		if a := acts[ref]; a.Status != StatusUnknown || !strings.Contains(a.ErrorText(), "not confirmed") || a.CauseText() != "connection reset" {
			t.Errorf("%s: %s %q (cause %q), want unknown, not confirmed, caused by the reset", ref, a.Status, a.ErrorText(), a.CauseText())
		}
	}
	// Observed again: p1 was set by the retry, p2 fails on its own.
	if hr := rep.Hosts[0]; hr.State != HostFailed || !strings.Contains(hr.Reason(), "disk on fire") || hr.Unknown != 0 || hr.Connects != 2 {
		t.Errorf("host %s: %s (unknown %d, connects %d), want failed by p2 itself after reconnecting", hr.State, hr.Reason(), hr.Unknown, hr.Connects)
	}
	if fleet["a"].values["p1"] != "1" {
		t.Errorf("p1 = %q, want 1", fleet["a"].values["p1"])
	}
}

// A connection lost in the middle of an act batch: what reported before
// the loss keeps its outcome, the rest is unknown with one cause, and the
// host is observed again over a new connection, which settles it: an
// action that ran counts as done, one that did not is planned and run.
func TestLostActBatchIsObservedAgain(t *testing.T) {
	fleet := fakeFleet{"a": {values: map[string]string{}, loseAt: 2, loseAfter: 1, ranAfterLoss: 1}}
	res := []*v1alpha1.Resource{marker("m1", "1", nil), marker("m2", "2", nil), marker("m3", "3", nil)}
	rep, err := newEngine(t, fleet).Run(context.Background(), []*v1alpha1.Host{host("a", nil)}, res)
	if err != nil {
		t.Fatal(err)
	}
	acts := actionsByResource(t, rep)
	if a := acts["Marker/m1"]; a.Status != StatusOK {
		t.Errorf("m1: %s %v, want ok: its result came back", a.Status, a.Err)
	}
	for _, ref := range []string{"Marker/m2", "Marker/m3"} {
		if a := acts[ref]; a.Status != StatusUnknown || !strings.HasSuffix(a.CauseText(), "connection reset by the fake") {
			t.Errorf("%s: %s %q, want unknown, caused by the reset", ref, a.Status, a.CauseText())
		}
	}
	if len(rep.Plans) != 2 || len(rep.Plans[1].Hosts[0].Actions) != 1 || rep.Plans[1].Hosts[0].Actions[0].Resource.Name != "m3" {
		t.Fatalf("want a second act for m3 alone, got %d plans", len(rep.Plans))
	}
	hr := rep.Hosts[0]
	if !rep.Converged || hr.State != HostConverged || hr.Changed != 3 || hr.Confirmed != 1 || hr.Unknown != 0 || hr.Connects != 2 || hr.Failed != 0 {
		t.Errorf("converged=%v host %+v; want converged, 3 changed (1 confirmed by observing), 0 unknown, 2 connects", rep.Converged, hr)
	}
	if v := fleet["a"].values; v["m1"] != "1" || v["m2"] != "2" || v["m3"] != "3" {
		t.Errorf("values %v", v)
	}
}

// A host that cannot be reached again after a lost act batch fails, with
// its unknown actions left unknown.
func TestLostActBatchNotRegained(t *testing.T) {
	defer func(d time.Duration) { regainWindow = d }(regainWindow)
	regainWindow = 0
	fleet := fakeFleet{"a": {values: map[string]string{}, loseAt: 2, goesDown: true}}
	rep, err := newEngine(t, fleet).Run(context.Background(), []*v1alpha1.Host{host("a", nil)}, []*v1alpha1.Resource{marker("m1", "1", nil)})
	if err != nil {
		t.Fatal(err)
	}
	hr := rep.Hosts[0]
	if hr.State != HostFailed || hr.Unknown != 1 || !strings.Contains(hr.Reason(), "lost while acting") {
		t.Errorf("host %s unknown %d: %s; want failed, 1 unknown, saying the connection was lost", hr.State, hr.Unknown, hr.Reason())
	}
}

// With an inventory, the retry sends only the members' own scripts: the
// inventory was written once, before the merged command.
func TestRetryDoesNotWriteTheInventoryAgain(t *testing.T) {
	reg, err := reconcilers.NewRegistry(markerReconciler{}, bundleReconciler{})
	if err != nil {
		t.Fatal(err)
	}
	fleet := fakeFleet{"a": {values: map[string]string{}, failOn: "p2"}}
	eng := &Engine{Registry: reg, Dial: fleet.dial, Inventory: &Inventory{Set: "s"}}
	rep, err := eng.Run(context.Background(), []*v1alpha1.Host{host("a", nil)},
		[]*v1alpha1.Resource{bundle("p1", "1"), bundle("p2", "2"), bundle("p3", "3")})
	if err != nil {
		t.Fatal(err)
	}
	h := fleet["a"]
	if len(h.scripts) != 3 {
		t.Fatalf("%d batches, want 3 (observe, act, retry)", len(h.scripts))
	}
	if act := h.scripts[1]; len(act) != 2 || !strings.Contains(act[0], InventoryPath("s", "a")) || !strings.HasPrefix(act[1], "setmany ") {
		t.Errorf("act batch %q, want the inventory write then one merged command", act)
	}
	if got := strings.Join(h.scripts[2], "; "); got != "set p1 1; set p2 2; set p3 3" {
		t.Errorf("retry batch %q, want each member's own script and nothing else", got)
	}
	if want := map[string]string{"p1": "1", "p3": "3"}; fmt.Sprint(h.values) != fmt.Sprint(want) || rep.Hosts[0].Failed != 1 {
		t.Errorf("values %v, failed %d; want %v, 1", h.values, rep.Hosts[0].Failed, want)
	}
}

// A long failure keeps its end, where commands say what went wrong.
func TestActionErrorKeepsTheEnd(t *testing.T) {
	long := strings.Repeat("Get:1 file:/srv/repo ./ Packages\n", 40) + "E: Failed to fetch http://127.0.0.1:9/Packages"
	e := newActionError(transport.Result{ExitCode: 100, Stderr: []byte(long)})
	if !strings.HasSuffix(e.Output, "E: Failed to fetch http://127.0.0.1:9/Packages") || !strings.HasPrefix(e.Output, "...") || len(e.Output) != 503 {
		t.Errorf("output %q (%d bytes), want the last 500 bytes after ...", e.Output, len(e.Output))
	}
	if e := newActionError(transport.Result{ExitCode: 1, Stdout: []byte(" short \n")}); e.Output != "short" {
		t.Errorf("short output %q", e.Output)
	}
}

func timeouts(h *v1alpha1.Host, observe, act time.Duration) *v1alpha1.Host {
	h.Spec.Timeouts = &v1alpha1.TimeoutsSpec{Observe: &v1alpha1.Duration{Duration: observe}, Act: &v1alpha1.Duration{Duration: act}}
	return h
}

// A host whose observe hangs past its deadline fails with reason timeout;
// the other host converges.
func TestObserveDeadlineFailsOnlyThatHost(t *testing.T) {
	fleet := fakeFleet{"a": {values: map[string]string{}, hangOn: "dump"}, "b": {values: map[string]string{}}}
	hosts := []*v1alpha1.Host{timeouts(host("a", nil), 200*time.Millisecond, time.Minute), host("b", nil)}
	rep, err := newEngine(t, fleet).Run(context.Background(), hosts, []*v1alpha1.Resource{marker("m", "1", nil)})
	if err != nil {
		t.Fatal(err)
	}
	var ce *transport.ConnectError
	if a := rep.Hosts[0]; a.State != HostFailed || !errors.As(a.Err, &ce) || ce.Reason != transport.ReasonTimeout {
		t.Errorf("a: state %s, err %v; want failed with reason timeout", a.State, a.Err)
	}
	if b := rep.Hosts[1]; b.State != HostConverged || fleet["b"].values["m"] != "1" {
		t.Errorf("b: state %s, values %v; want converged", b.State, fleet["b"].values)
	}
}

// An act batch past its deadline keeps the outcome of what finished, fails
// the action that was running, and runs nothing after it.
func TestActDeadlineCutsTheBatch(t *testing.T) {
	fleet := fakeFleet{"a": {values: map[string]string{}, hangOn: "m2"}, "b": {values: map[string]string{}}}
	hosts := []*v1alpha1.Host{timeouts(host("a", nil), time.Minute, 200*time.Millisecond), host("b", nil)}
	res := []*v1alpha1.Resource{marker("m1", "1", nil), marker("m2", "2", nil, "m1"), marker("m3", "3", nil, "m2")}
	rep, err := newEngine(t, fleet).Run(context.Background(), hosts, res)
	if err != nil {
		t.Fatal(err)
	}
	a := rep.Hosts[0]
	var ce *transport.ConnectError
	if a.State != HostFailed || !errors.As(a.Err, &ce) || ce.Reason != transport.ReasonTimeout || a.Changed != 1 || a.Failed != 1 || a.NotRun != 1 {
		t.Errorf("a: %+v (%v); want failed on its act deadline with 1 changed, 1 failed, 1 not run", a, a.Err)
	}
	got := map[string]ActionStatus{}
	for _, hp := range rep.Plans[0].Hosts {
		for _, pa := range hp.Actions {
			if hp.Host == "a" {
				got[pa.Resource.Name] = pa.Status
			}
		}
	}
	if got["m1"] != StatusOK || got["m2"] != StatusFailed || got["m3"] != StatusNotRun {
		t.Errorf("a's actions: %v", got)
	}
	if b := rep.Hosts[1]; b.State != HostConverged || b.Changed != 3 {
		t.Errorf("b: %+v; want converged with 3 changes", b)
	}
}

// Cancelling the run while a host is observed never reports it converged.
func TestInterruptDuringObserveIsNotConverged(t *testing.T) {
	hanging := make(chan struct{})
	fleet := fakeFleet{"a": {values: map[string]string{}, hangOn: "dump", hanging: hanging}, "b": {values: map[string]string{"m": "1"}}}
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() { <-hanging; cancel(errors.New("interrupted by SIGTERM")) }()
	rep, err := newEngine(t, fleet).Run(ctx, []*v1alpha1.Host{host("a", nil), host("b", nil)}, []*v1alpha1.Resource{marker("m", "1", nil)})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted || rep.Converged {
		t.Errorf("interrupted=%v converged=%v; want interrupted, not converged", rep.Interrupted, rep.Converged)
	}
	if a := rep.Hosts[0]; a.State != HostInterrupted || !strings.Contains(a.Reason(), "interrupted by SIGTERM") {
		t.Errorf("a: state %s, reason %q; want interrupted by SIGTERM", a.State, a.Reason())
	}
}

// A connection lost during observe is opened again and the host read
// again: observing is read-only, so nothing is called failed for it.
func TestLostObserveIsReadAgain(t *testing.T) {
	lost := &transport.ConnectError{Host: "a", Reason: transport.ReasonLost, Err: errors.New("connection lost during a batch")}
	fleet := fakeFleet{"a": {values: map[string]string{}, loseAt: 1, lostErr: lost}}
	rep, err := newEngine(t, fleet).Run(context.Background(), []*v1alpha1.Host{host("a", nil)}, []*v1alpha1.Resource{marker("m1", "1", nil)})
	if err != nil {
		t.Fatal(err)
	}
	if hr := rep.Hosts[0]; !rep.Converged || hr.State != HostConverged || hr.Connects != 2 || fleet["a"].values["m1"] != "1" {
		t.Errorf("converged=%v host %+v; want converged over a second connection", rep.Converged, hr)
	}
}
