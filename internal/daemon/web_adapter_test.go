package daemon

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/status"
	"github.com/optimus-cm/optimus/internal/web"
	"github.com/optimus-cm/optimus/reconcilers"
)

func TestConfigErrorsKeepFileAndLine(t *testing.T) {
	cfg := configOf([]v1alpha1.Condition{{Type: v1alpha1.ConditionConfigValid, Status: v1alpha1.ConditionFalse,
		Message: "manifests/a.yaml:4: User/eve: spec.shel: unknown field\nmanifests/b.yaml: not YAML\nno place at all"}})
	want := []web.ConfigError{{Location: "manifests/a.yaml:4", Message: "User/eve: spec.shel: unknown field"},
		{Message: "manifests/b.yaml: not YAML"}, {Message: "no place at all"}}
	if !cfg.Known || cfg.Valid || len(cfg.Errors) != len(want) {
		t.Fatalf("config = %+v", cfg)
	}
	for i := range want {
		if cfg.Errors[i] != want[i] {
			t.Errorf("error %d = %+v, want %+v", i, cfg.Errors[i], want[i])
		}
	}
}

func TestHostState(t *testing.T) {
	cond := func(typ string, st v1alpha1.ConditionStatus, msg string) v1alpha1.Condition {
		return v1alpha1.Condition{Type: typ, Status: st, Message: msg}
	}
	gen := func(c v1alpha1.Condition, g string) v1alpha1.Condition {
		c.ObservedGeneration = g
		return c
	}
	for _, tc := range []struct {
		name   string
		conds  []v1alpha1.Condition
		state  web.State
		reason string
	}{
		{"never reconciled", nil, web.StatePending, "not reconciled yet"},
		{"ready", []v1alpha1.Condition{cond("Ready", "True", ""), cond("Reconciling", "False", "")}, web.StateReady, ""},
		{"quarantined while retried", []v1alpha1.Condition{cond("Ready", "False", "x"), cond("Reconciling", "True", ""),
			cond("Quarantined", "True", "x")}, web.StateQuarantined, "dial: refused"},
		{"unconverged", []v1alpha1.Condition{cond("Ready", "False", "still changing"), cond("Quarantined", "False", "")},
			web.StateUnconverged, "still changing"},
		{"re-observed for drift", []v1alpha1.Condition{gen(cond("Ready", "True", ""), "g1"), gen(cond("Reconciling", "True", ""), "g1")},
			web.StateReady, ""},
		{"applying a new generation", []v1alpha1.Condition{gen(cond("Ready", "True", ""), "g1"), gen(cond("Reconciling", "True", ""), "g2")},
			web.StateReconciling, ""},
		{"first reconcile", []v1alpha1.Condition{gen(cond("Reconciling", "True", ""), "g1")}, web.StateReconciling, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, reason := hostState(&v1alpha1.HostStatus{Conditions: tc.conds, LastError: "dial: refused"})
			if st != tc.state || reason != tc.reason {
				t.Errorf("got %s %q, want %s %q", st, reason, tc.state, tc.reason)
			}
		})
	}
}

func TestNonLoopbackListenNeedsTokens(t *testing.T) {
	d := &Daemon{opts: Options{Listen: "0.0.0.0:9443"}}
	d.web = newWebSource(d)
	if _, err := newStatusPage(d); err == nil || !strings.Contains(err.Error(), "--auth-token-file") {
		t.Errorf("err = %v, want a refusal naming --auth-token-file", err)
	}
	d.opts.Listen = "127.0.0.1:9443"
	if _, err := newStatusPage(d); err != nil {
		t.Errorf("loopback: %v", err)
	}
}

// pageOf renders one page of the status page the daemon serves.
func pageOf(t *testing.T, d *Daemon, path string) string {
	t.Helper()
	s, err := web.New(web.Options{Source: d.web})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mux := http.NewServeMux()
	s.Register(mux)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	resp, err := http.Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%s", path, resp.StatusCode, err, b)
	}
	return string(b)
}

func TestHaltedRolloutOnFleetPage(t *testing.T) {
	d := newTestDaemon(t)
	if f := d.web.Summary(); f.Rollout != nil {
		t.Fatalf("rollout %+v before any rollout", f.Rollout)
	}
	hosts, old := fleetGen(5, "a")
	_, desired := fleetGen(5, "b")
	rr := startTestRollout(t, d, hosts, old, desired, []string{"1", "2"}, "1")
	putTestOutcome(t, d, rr, "h1", nil)
	putTestOutcome(t, d, rr, "h2", &v1alpha1.RolloutFailure{Host: "h2", Resources: []string{"File/motd: permission denied"}, Reason: "failed"})
	putTestOutcome(t, d, rr, "h3", &v1alpha1.RolloutFailure{Host: "h3", Reason: "host unreachable"})

	got := d.web.Summary().Rollout
	want := &web.Rollout{Generation: rr.Gen, Previous: rr.Previous, Phase: v1alpha1.RolloutHalted, Batch: 2, Batches: 3, Total: 5,
		Done: 1, Failed: 2, Pending: 2, Budget: "1", Failures: []web.RolloutFailure{
			{Host: "h2", Resources: []string{"File/motd: permission denied"}, Reason: "failed"},
			{Host: "h3", Reason: "host unreachable"}}, Message: d.RolloutStatus().Message}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fleet rollout\n got %+v\nwant %+v", got, want)
	}
	body := pageOf(t, d, "/")
	for _, w := range []string{"Rollout " + rr.Gen, "Halted</span> batch 2 of 3: 1 of 5 hosts done, 2 failed (budget 1), 2 pending",
		`<a href="/hosts/h2">h2</a>`, "<li>File/motd: permission denied</li>", `<a href="/hosts/h3">h3</a>`, "host unreachable"} {
		if !strings.Contains(body, w) {
			t.Errorf("fleet page lacks %q", w)
		}
	}
}

func TestHostPageShowsRecordedRuns(t *testing.T) {
	scheme, err := v1alpha1.NewScheme(v1alpha1.HostKind)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := reconcilers.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Options{Dir: t.TempDir(), StateDir: t.TempDir(), Scheme: scheme, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.closeHistory)
	if d.history == nil {
		t.Fatal("no run history with a state directory")
	}
	d.status.SetManifests([]status.Target{{Name: "web1"}, {Name: "web2"}}, nil, time.Now())

	ctx := context.Background()
	start := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	// Twelve runs of web1, the newest a failure; one of web2 between them.
	for i := range 12 {
		at := start.Add(time.Duration(i) * time.Minute)
		rep := &controller.Report{Cycles: 2, Converged: true, Hosts: []controller.HostReport{
			{Host: "web1", State: controller.HostConverged, Changed: i}}}
		var runErr error
		if i == 11 {
			rep, runErr = nil, errors.New("dial web1: connection refused")
		}
		d.recordRun(ctx, nil, "web1", rep, runErr, at, time.Duration(i+1)*100*time.Millisecond)
		if i == 5 {
			d.recordRun(ctx, nil, "web2", &controller.Report{Cycles: 1, Converged: true, Hosts: []controller.HostReport{
				{Host: "web2", State: controller.HostConverged, Changed: 99}}}, nil, at, time.Second)
		}
	}

	runs, err := d.web.HostRuns(ctx, "web1", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 10 {
		t.Fatalf("%d runs, want the last 10", len(runs))
	}
	if r := runs[0]; r.Result != "failed" || r.Reason != "dial web1: connection refused" || !r.Start.Equal(start.Add(11*time.Minute)) ||
		r.Duration != 1200*time.Millisecond {
		t.Errorf("newest run %+v, want the failed one", r)
	}
	if r := runs[1]; r.Result != "converged" || r.Changed != 10 || r.Cycles != 2 || r.Duration != 1100*time.Millisecond {
		t.Errorf("second run %+v", r)
	}
	for _, r := range runs {
		if r.Changed == 99 {
			t.Errorf("web2's run listed for web1: %+v", r)
		}
	}
	if f, h := d.web.Summary(), d.web.Host("web1"); f.Hosts != 2 || h == nil || h.History != nil {
		t.Errorf("the source's host carries run history: %d hosts, %+v", f.Hosts, h)
	}

	body := pageOf(t, d, "/hosts/web1")
	for _, w := range []string{"Run history", "The last 10 recorded reconciles",
		`2026-05-01 10:11:00 UTC</time></td><td>failed</td><td>1.2s</td><td class="num">0</td><td class="num">0</td><td class="msg">dial web1: connection refused</td>`,
		`2026-05-01 10:10:00 UTC</time></td><td>converged</td><td>1.1s</td><td class="num">10</td>`} {
		if !strings.Contains(body, w) {
			t.Errorf("host page lacks %q", w)
		}
	}
	if strings.Contains(body, "10:01:00 UTC") {
		t.Error("the host page lists more than the last 10 runs")
	}
}
