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
	"github.com/optimus-cm/optimus/internal/status"
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

func TestNewRolloutMembersAndBatches(t *testing.T) {
	hosts, old := fleetGen(5, "a")
	_, desired := fleetGen(5, "b")
	desired["h3"] = old["h3"] // unchanged: not part of the rollout
	delete(old, "h5")         // new host: gets the manifests at once
	ro, err := newRollout(policySet([]string{"1", "50%"}, "1"), hosts, desired, old, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]string{{"h1"}, {"h2", "h4"}}; !reflect.DeepEqual(ro.batches, want) {
		t.Errorf("batches = %v, want %v", ro.batches, want)
	}
	if ro.held("h2") != old["h2"] || ro.held("h3") != nil || ro.held("h5") != nil {
		t.Errorf("held: h2 %v, h3 %v, h5 %v; want h2 on its old state, h3 and h5 on the current", ro.held("h2"), ro.held("h3"), ro.held("h5"))
	}
	if ro, err := newRollout(&manifest.Set{}, hosts, desired, old, nil, time.Now()); ro != nil || err != nil {
		t.Errorf("no policy: rollout %v, %v; want none", ro, err)
	}

	// A newer change while h2 and h4 still wait: they keep what they had
	// before the first change, not the generation they never got.
	ro.state["h1"] = memberDone
	_, newer := fleetGen(5, "c")
	next, err := newRollout(policySet([]string{"1", "50%"}, "1"), hosts, newer, desired, ro, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if next.held("h2") != old["h2"] || next.held("h1") != desired["h1"] {
		t.Errorf("newer rollout: h2 held to %v, h1 to %v", next.held("h2"), next.held("h1"))
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

func TestRolloutHaltsWhenBudgetSpentAndResumes(t *testing.T) {
	d := newTestDaemon(t)
	hosts, old := fleetGen(6, "a")
	_, desired := fleetGen(6, "b")
	ro, err := newRollout(policySet([]string{"1", "2"}, "1"), hosts, desired, old, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	d.desired = desired
	first := d.startRolloutLocked(ro, time.Now())
	d.mu.Unlock()
	if !reflect.DeepEqual(first, []string{"h1"}) {
		t.Fatalf("first batch %v, want the canary h1", first)
	}
	ctx := context.Background()
	outcome := func(name, result string) {
		d.rolloutOutcome(ctx, ro, desired[name], result, []status.ResourceState{{Ref: v1alpha1.ResourceRef{Kind: "File", Name: "f"}, State: status.StateFailed, Message: "boom"}}, "failed")
	}
	outcome("h1", resultConverged)
	if ro.batch != 1 || ro.phase != v1alpha1.RolloutProgressing {
		t.Fatalf("after the canary: batch %d phase %s, want batch 2 progressing", ro.batch+1, ro.phase)
	}
	// A reconcile that began while h2 was kept on its old state says
	// nothing about the change.
	d.rolloutOutcome(ctx, ro, old["h2"], resultFailed, nil, "old generation")
	if ro.state["h2"] != memberAdmitted {
		t.Fatalf("a reconcile to the previous generation counted for the rollout: h2 is %v", ro.state["h2"])
	}
	outcome("h2", resultFailed)
	if ro.phase != v1alpha1.RolloutProgressing {
		t.Fatalf("one failure within budget 1: phase %s", ro.phase)
	}
	outcome("h3", resultFailed)
	st := d.RolloutStatus()
	if st.Phase != v1alpha1.RolloutHalted || st.Failed != 2 || st.Pending != 3 || len(st.Failures) != 2 || st.Failures[0].Resources[0] != "File/f: boom" {
		t.Fatalf("status = %+v; want halted with 2 failed, 3 kept", st)
	}
	if ro.held("h4") == nil {
		t.Error("h4 was released although the rollout halted")
	}
	c := v1alpha1.FindCondition(d.status.Snapshot().Conditions, v1alpha1.ConditionRollout)
	if c == nil || c.Reason != "RolloutHalted" {
		t.Errorf("controller condition %+v, want RolloutHalted", c)
	}
	if _, err := d.AbortRollout(); err != nil {
		t.Fatal(err)
	}
	st, err = d.ResumeRollout()
	if err != nil || st.Phase != v1alpha1.RolloutProgressing || st.Batch != 3 {
		t.Fatalf("resume: %+v, %v; want the third batch started", st, err)
	}
	outcome("h4", resultConverged)
	outcome("h5", resultConverged)
	if ro.phase != v1alpha1.RolloutProgressing || ro.batch != 3 {
		t.Fatalf("phase %s batch %d", ro.phase, ro.batch+1)
	}
	outcome("h6", resultConverged)
	if ro.phase != v1alpha1.RolloutComplete {
		t.Errorf("phase %s, want complete", ro.phase)
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
