package daemon

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/manifest"
	"github.com/optimus-cm/optimus/internal/web"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// fleetGen is the desired state of hosts h1..hn, each at generation gen.
func fleetGen(n int, gen string) ([]*v1alpha1.Host, map[string]*desiredHost) {
	var hosts []*v1alpha1.Host
	desired := map[string]*desiredHost{}
	for i := 1; i <= n; i++ {
		h := &v1alpha1.Host{Metadata: v1alpha1.ObjectMeta{Name: fmt.Sprintf("h%d", i)}, Spec: &v1alpha1.HostSpec{}}
		hosts = append(hosts, h)
		desired[h.Metadata.Name] = &desiredHost{host: h, generation: gen + "-" + h.Metadata.Name}
	}
	return hosts, desired
}

func policySet(batches []string, maxFail string) *manifest.Set {
	return &manifest.Set{Policy: &v1alpha1.Resource{TypeMeta: v1alpha1.TypeMeta{Kind: "RolloutPolicy"}, Metadata: v1alpha1.ObjectMeta{Name: "p"},
		Spec: &v1alpha1.RolloutPolicySpec{Batches: batches, MaxFail: maxFail}}}
}

// keptOnOld says every host of old is kept on its generation in manifests "old".
func keptOnOld(old map[string]*desiredHost) func(string) (heldRecord, bool) {
	return func(name string) (heldRecord, bool) {
		if o := old[name]; o != nil {
			return heldRecord{Digest: "old", Generation: o.generation}, true
		}
		return heldRecord{}, false
	}
}

func TestNextRecordMembersAndBatches(t *testing.T) {
	hosts, old := fleetGen(5, "a")
	_, desired := fleetGen(5, "b")
	desired["h3"] = old["h3"] // unchanged: not part of the rollout
	delete(old, "h5")         // new host: gets the manifests at once
	prev := &fleetRecord{Current: "old", Seq: 4}
	rec, err := nextRecord(prev, policySet([]string{"1", "50%"}, "1"), "new", hosts, desired, keptOnOld(old), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rr := rec.Rollout
	if want := [][]string{{"h1"}, {"h2", "h4"}}; rr == nil || !reflect.DeepEqual(rr.Batches, want) {
		t.Fatalf("rollout %+v, want batches %v", rr, want)
	}
	if rec.Current != "new" || rec.Seq != 5 || rr.Seq != 5 || rr.Batch != 0 {
		t.Errorf("record %+v: want current new, seq 5, first batch admitted", rec)
	}
	if h, pending := rec.keptOn("h2", nil); !pending || h.Generation != old["h2"].generation {
		t.Errorf("h2 kept on %+v (pending %v), want its old generation", h, pending)
	}
	for _, n := range []string{"h1", "h3", "h5"} {
		if _, pending := rec.keptOn(n, nil); pending {
			t.Errorf("%s is held; want it on the current manifests", n)
		}
	}
	if rec, err := nextRecord(prev, &manifest.Set{}, "new", hosts, desired, keptOnOld(old), time.Now()); rec.Rollout != nil || err != nil {
		t.Errorf("no policy: rollout %+v, %v; want none", rec.Rollout, err)
	}
	if rec, _ := nextRecord(nil, policySet([]string{"1"}, "1"), "new", hosts, desired, keptOnOld(old), time.Now()); rec.Rollout != nil {
		t.Errorf("first manifests ever: rollout %+v; want none", rec.Rollout)
	}
}

func newTestDaemon(t *testing.T) *Daemon {
	t.Helper()
	scheme, err := v1alpha1.NewScheme(v1alpha1.HostKind, v1alpha1.RolloutPolicyKind)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := reconcilers.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Options{Dir: t.TempDir(), Scheme: scheme, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRolloutRecordAdvance(t *testing.T) {
	hosts, old := fleetGen(6, "a")
	_, desired := fleetGen(6, "b")
	rec, err := nextRecord(&fleetRecord{Current: "old"}, policySet([]string{"1", "2"}, "1"), "new", hosts, desired, keptOnOld(old), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rr := rec.Rollout
	outcomes := map[string]outcomeRecord{}
	done := func(name string, ok bool) {
		o := outcomeRecord{Seq: rr.Seq, Done: ok}
		if !ok {
			o.Failure = &v1alpha1.RolloutFailure{Host: name, Reason: "boom"}
		}
		outcomes[name] = o
		rr.advance(outcomes, time.Now())
	}
	if st := rr.states(outcomes); st["h1"] != memberAdmitted || st["h2"] != memberPending {
		t.Fatalf("states %v: want the canary admitted, the rest pending", st)
	}
	// An outcome of an earlier rollout says nothing about this one.
	outcomes["h1"] = outcomeRecord{Seq: rr.Seq - 1, Done: true}
	if rr.advance(outcomes, time.Now()) || rr.Batch != 0 {
		t.Fatalf("an earlier rollout's outcome moved this one to batch %d", rr.Batch+1)
	}
	done("h1", true)
	if rr.Batch != 1 || rr.Phase != v1alpha1.RolloutProgressing {
		t.Fatalf("after the canary: batch %d phase %s, want batch 2 progressing", rr.Batch+1, rr.Phase)
	}
	done("h2", false)
	if rr.Phase != v1alpha1.RolloutProgressing {
		t.Fatalf("one failure within budget 1: phase %s", rr.Phase)
	}
	done("h3", false)
	if rr.Phase != v1alpha1.RolloutHalted || rr.Batch != 1 {
		t.Fatalf("two failures, budget 1: phase %s batch %d, want halted in batch 2", rr.Phase, rr.Batch+1)
	}
	if _, pending := rec.keptOn("h4", outcomes); !pending {
		t.Error("h4 was released although the rollout halted")
	}
	if err := rr.abort(); err != nil {
		t.Fatal(err)
	}
	if err := rr.resume(outcomes, time.Now()); err != nil || rr.Phase != v1alpha1.RolloutProgressing || rr.Batch != 2 || rr.Forgiven != 2 {
		t.Fatalf("resume: %+v, %v; want the third batch started with 2 failures accepted", rr, err)
	}
	done("h4", true)
	done("h5", true)
	if rr.Batch != 3 {
		t.Fatalf("batch %d, want 4", rr.Batch+1)
	}
	done("h6", true)
	if rr.Phase != v1alpha1.RolloutComplete {
		t.Errorf("phase %s, want complete", rr.Phase)
	}
	if err := rr.resume(outcomes, time.Now()); err == nil {
		t.Error("a complete rollout resumed")
	}
}

// startTestRollout stores a rollout of desired (from old) as the fleet's and
// makes it the daemon's.
func startTestRollout(t *testing.T, d *Daemon, hosts []*v1alpha1.Host, old, desired map[string]*desiredHost, batches []string, maxFail string) *rolloutRecord {
	t.Helper()
	rec, err := nextRecord(&fleetRecord{Current: "old"}, policySet(batches, maxFail), "new", hosts, desired, keptOnOld(old), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	d.desired, d.digest = desired, "new"
	d.mu.Unlock()
	d.cacheSnapshot("old", old, nil)
	ctx := context.Background()
	if ok, err := d.store.swap(ctx, 0, rec); !ok || err != nil {
		t.Fatalf("store: %v %v", ok, err)
	}
	d.refresh(ctx)
	return rec.Rollout
}

// putTestOutcome records a member's outcome (nil failure: done) as its
// owner would, and lets the daemon move the rollout on.
func putTestOutcome(t *testing.T, d *Daemon, rr *rolloutRecord, name string, failure *v1alpha1.RolloutFailure) {
	t.Helper()
	ctx := context.Background()
	if err := d.store.putOutcome(ctx, nil, name, outcomeRecord{Seq: rr.Seq, Done: failure == nil, Failure: failure}); err != nil {
		t.Fatal(err)
	}
	d.refresh(ctx)
}

func TestRolloutPausesUntilItsDeadline(t *testing.T) {
	hosts, old := fleetGen(2, "a")
	_, desired := fleetGen(2, "b")
	set := policySet([]string{"1"}, "0")
	set.Policy.Spec.(*v1alpha1.RolloutPolicySpec).Pause = &v1alpha1.Duration{Duration: time.Minute}
	rec, _ := nextRecord(&fleetRecord{Current: "old"}, set, "new", hosts, desired, keptOnOld(old), time.Now())
	rr := rec.Rollout
	now := time.Now()
	outcomes := map[string]outcomeRecord{"h1": {Seq: rr.Seq, Done: true}}
	rr.advance(outcomes, now)
	if rr.Phase != v1alpha1.RolloutPaused || rr.PauseUntil == nil || rr.Batch != 0 {
		t.Fatalf("after the canary: %+v; want paused in batch 1", rr)
	}
	// The deadline is stored: a restart before it keeps waiting, one after
	// it starts the next batch at once.
	stored := cloneRecord(rec).Rollout
	if stored.advance(outcomes, now.Add(30*time.Second)) || stored.Phase != v1alpha1.RolloutPaused {
		t.Errorf("the pause ended early: %+v", stored)
	}
	if !stored.advance(outcomes, now.Add(61*time.Second)) || stored.Batch != 1 || stored.Phase != v1alpha1.RolloutProgressing {
		t.Errorf("the pause did not end: %+v", stored)
	}
}

// TestRolloutStateSurvivesTheProcess: the local store writes every change
// to the state directory, and a new store finds it there.
func TestRolloutStateSurvivesTheProcess(t *testing.T) {
	dir := t.TempDir()
	s, err := newLocalStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rec := &fleetRecord{Current: "c2", Seq: 3, Rollout: &rolloutRecord{Seq: 3, Phase: v1alpha1.RolloutHalted, Batches: [][]string{{"h1"}, {"h2"}},
		Batch: 0, Held: map[string]heldRecord{"h1": {Digest: "c1"}, "h2": {Digest: "c1"}}}}
	if ok, err := s.swap(ctx, 0, rec); !ok || err != nil {
		t.Fatalf("swap: %v %v", ok, err)
	}
	if ok, _ := s.swap(ctx, 0, rec); ok {
		t.Fatal("a swap from a stale revision succeeded")
	}
	if err := s.putOutcome(ctx, nil, "h1", outcomeRecord{Seq: 3, Failure: &v1alpha1.RolloutFailure{Host: "h1", Reason: "boom"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.putSnapshot(ctx, "c1", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := s.putSnapshot(ctx, "c0", []byte("zero")); err != nil {
		t.Fatal(err)
	}
	if err := s.keepSnapshots(ctx, referenced(rec)); err != nil {
		t.Fatal(err)
	}
	again, err := newLocalStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, outcomes, rev, err := again.load(ctx)
	if err != nil || rev != 1 || !reflect.DeepEqual(got, rec) || outcomes["h1"].Failure == nil {
		t.Fatalf("after a restart: %+v %v rev %d %v; want the record as stored", got, outcomes, rev, err)
	}
	if b, err := again.snapshot(ctx, "c1"); err != nil || string(b) != "one" {
		t.Errorf("snapshot c1: %q %v", b, err)
	}
	if _, err := again.snapshot(ctx, "c0"); err == nil {
		t.Error("snapshot c0, held by nobody, was kept")
	}
}

func TestCheckPassed(t *testing.T) {
	cmd := v1alpha1.HealthCheck{Name: "c", Command: "true", ExpectExit: 3}
	if ok, _ := checkPassed(cmd, transport.Result{ExitCode: 3}); !ok {
		t.Error("expected exit 3 did not pass")
	}
	if ok, why := checkPassed(cmd, transport.Result{ExitCode: 0, Stderr: []byte("nope")}); ok || why != "exit status 0, want 3: nope" {
		t.Errorf("exit 0: %v %q", ok, why)
	}
	web := v1alpha1.HealthCheck{Name: "w", HTTP: &v1alpha1.HTTPCheck{Port: 8080, Path: "/healthz", ExpectStatus: 200}}
	if ok, _ := checkPassed(web, transport.Result{Stdout: []byte("200\n")}); !ok {
		t.Error("status 200 did not pass")
	}
	if ok, why := checkPassed(web, transport.Result{Stdout: []byte("503\n")}); ok || why != "GET 127.0.0.1:8080/healthz: status 503, want 200" {
		t.Errorf("503: %v %q", ok, why)
	}
}

func TestRolloutEndpointsNeedAWriteToken(t *testing.T) {
	read, write := strings.Repeat("r", web.MinTokenLength), strings.Repeat("w", web.MinTokenLength)
	file := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(file, []byte(read+" read\n"+write+" write\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	scheme, _ := v1alpha1.NewScheme(v1alpha1.HostKind, v1alpha1.RolloutPolicyKind)
	reg, _ := reconcilers.NewRegistry()
	d, err := New(Options{Dir: t.TempDir(), Scheme: scheme, Registry: reg, AuthTokenFile: file})
	if err != nil {
		t.Fatal(err)
	}
	h := d.handler()
	call := func(method, path, token string) int {
		req := httptest.NewRequest(method, "http://ctl.example:9443"+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	for _, tc := range []struct {
		method, path, token string
		want                int
	}{
		{"POST", "/api/v1/rollout/abort", "", http.StatusUnauthorized},
		{"POST", "/api/v1/rollout/abort", read, http.StatusForbidden},
		{"POST", "/api/v1/rollout/resume", read, http.StatusForbidden},
		{"POST", "/api/v1/rollout/abort", write, http.StatusConflict}, // allowed; there is no rollout
		{"GET", "/api/v1/rollout", read, http.StatusNotFound},
	} {
		if got := call(tc.method, tc.path, tc.token); got != tc.want {
			t.Errorf("%s %s (token %.1s...): %d, want %d", tc.method, tc.path, tc.token, got, tc.want)
		}
	}
}

// TestOutcomesAreAppended: an outcome is a line added to the outcome log,
// not the state file written again; a restart finds every outcome, also
// after the log was folded into the state file, and a line cut short by a
// crash is left out.
func TestOutcomesAreAppended(t *testing.T) {
	dir := t.TempDir()
	s, err := newLocalStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if ok, err := s.swap(ctx, 0, &fleetRecord{Current: "c1", Seq: 1}); !ok || err != nil {
		t.Fatalf("swap: %v %v", ok, err)
	}
	state, err := os.Stat(filepath.Join(dir, RolloutFile))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := s.putOutcome(ctx, nil, fmt.Sprintf("h%d", i), outcomeRecord{Seq: 1, Done: true}); err != nil {
			t.Fatal(err)
		}
	}
	if again, _ := os.Stat(filepath.Join(dir, RolloutFile)); !again.ModTime().Equal(state.ModTime()) || again.Size() != state.Size() {
		t.Error("the state file was written again for an outcome")
	}
	log, err := os.ReadFile(filepath.Join(dir, OutcomeLog))
	if err != nil || strings.Count(string(log), "\n") != 10 {
		t.Fatalf("outcome log: %q %v; want ten lines", log, err)
	}
	// A crash in the middle of the next line.
	if err := os.WriteFile(filepath.Join(dir, OutcomeLog), append(log, `{"host":"h99","outc`...), 0o600); err != nil {
		t.Fatal(err)
	}
	again, err := newLocalStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, outcomes, _, _ := again.load(ctx)
	if len(outcomes) != 10 || !outcomes["h9"].Done {
		t.Fatalf("after a restart: %d outcomes %v; want h0..h9 done", len(outcomes), outcomes)
	}
	// Many more outcomes than hosts: the log is folded into the state file.
	for i := range 200 {
		if err := again.putOutcome(ctx, nil, fmt.Sprintf("h%d", i%10), outcomeRecord{Seq: 1, Done: i%2 == 0}); err != nil {
			t.Fatal(err)
		}
	}
	if log, _ := os.ReadFile(filepath.Join(dir, OutcomeLog)); strings.Count(string(log), "\n") > 10+64 {
		t.Errorf("the outcome log grew to %d lines for 10 hosts", strings.Count(string(log), "\n"))
	}
	third, err := newLocalStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, outcomes, _, _ = third.load(ctx)
	if len(outcomes) != 10 || outcomes["h9"].Done || !outcomes["h8"].Done {
		t.Errorf("after folding and a restart: %v; want the last outcome of each host", outcomes)
	}
}
