package e2e

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus"
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/builtin"
	"github.com/optimus-cm/optimus/internal/daemon"
)

// rolloutPolicy is a canary of one, then three hosts, then the rest, with
// a budget of one failed host and a health check run on each host.
const rolloutPolicy = `---
apiVersion: optimus.dev/v1alpha1
kind: RolloutPolicy
metadata: {name: canary}
spec:
  batches: ["1", "3", "100%"]
  maxFail: "1"
  healthChecks:
    - {name: srv, command: "test -d /srv", retries: 2, interval: 500ms}
---
apiVersion: optimus.dev/v1alpha1
kind: User
metadata: {name: ro-h7}
spec:
  hostSelector: {matchLabels: {app: h7}}
`

// TestControllerRollout: the controller rolls the broken change out canary
// first, halts when the second batch spends the budget, keeps the other
// hosts on (and drift-corrected to) the previous generation, and a fixed
// manifest starts a new rollout that converges all nine.
//
// The daemon runs in-process without an inventory: the per-set inventory
// is one file per machine, and three Host resources share each container.
func TestControllerRollout(t *testing.T) {
	f := newRolloutFleet(t)
	f.dir, f.extra = t.TempDir(), rolloutPolicy
	f.write(t, "version 1\n")
	cfg, err := optimus.Config(optimus.WithKinds(builtin.Kinds()...))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	d, err := daemon.New(daemon.Options{Dir: f.dir, Scheme: cfg.Scheme, Registry: cfg.Registry, Listen: "127.0.0.1:0",
		Resync: 2 * time.Second, Debounce: 200 * time.Millisecond, BackoffInitial: time.Second, BackoffMax: 3 * time.Second,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, nil) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("controller logs:\n%s", logs.String())
		}
	})
	addr := d.Addr()
	get := func(path string) string {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	status := func() *v1alpha1.ControllerStatus {
		var st v1alpha1.ControllerStatus
		if err := json.Unmarshal([]byte(get("/api/v1/status")), &st); err != nil {
			return nil
		}
		return &st
	}
	allReady := func() bool {
		st := status()
		for n := 1; n <= 9; n++ {
			if hostCondition(st, "h"+string(rune('0'+n)), v1alpha1.ConditionReady) != "True" {
				return false
			}
		}
		return true
	}
	eventually(t, 90*time.Second, "all nine hosts Ready on version 1", allReady)

	// The change with the typo on the broken hosts.
	f.write(t, "version 2\n{{ if index .Host.Labels \"broken\" }}typo\n{{ end }}")
	eventually(t, 60*time.Second, "the rollout halted", func() bool {
		c := v1alpha1.FindCondition(status().Conditions, v1alpha1.ConditionRollout)
		return c != nil && c.Reason == "RolloutHalted"
	})
	st := status()
	c := v1alpha1.FindCondition(st.Conditions, v1alpha1.ConditionRollout)
	for _, want := range []string{"2 of 9 hosts failed (budget 1)", "h2: Service/app-h2", "syntax error in /srv/app-h2.conf", "h4: Service/app-h4"} {
		if !strings.Contains(c.Message, want) {
			t.Errorf("/api/v1/status Rollout condition lacks %q: %s", want, c.Message)
		}
	}
	want := map[int]string{1: "version 2", 2: "version 2\ntypo", 3: "version 2", 4: "version 2\ntypo"}
	for n := 5; n <= 9; n++ {
		want[n] = "version 1" // kept on the previous generation
	}
	for n := 1; n <= 9; n++ {
		if conf, _ := f.config(t, n); conf != want[n] {
			t.Errorf("h%d after the halt: config %q, want %q", n, conf, want[n])
		}
	}
	r := run(t, nil, "get", "hosts", "--controller", addr)
	if !strings.Contains(r.stdout, "RolloutHalted: rollout") {
		t.Errorf("optimus get hosts does not say the rollout halted:\n%s", r)
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		f := strings.Fields(line)
		if len(f) > 2 && (f[0] == "h2" || f[0] == "h4") && f[2] != "RolloutHalted" {
			t.Errorf("get hosts row %q: want RolloutHalted", line)
		}
		if len(f) > 2 && f[0] == "h6" && f[2] != "RolloutPending" {
			t.Errorf("get hosts row %q: want RolloutPending", line)
		}
	}
	r = run(t, nil, "rollout", "status", "--controller", addr)
	if r.code != 3 || !strings.Contains(r.stdout, "Halted, batch 2 of 3") || !strings.Contains(r.stdout, "5 kept on the previous generation") {
		t.Errorf("optimus rollout status: want exit 3, halted in batch 2 with 5 kept\n%s", r)
	}

	// Drift on hosts kept on the previous generation is corrected to it.
	f.container(7).Exec(t, "userdel ro-h7")
	f.container(5).Exec(t, "echo tampered >/srv/app-h5.conf")
	eventually(t, 30*time.Second, "drift on kept hosts corrected to version 1", func() bool {
		conf, _ := f.config(t, 5)
		return conf == "version 1" && strings.Contains(f.container(7).Exec(t, "getent passwd ro-h7 || true"), "ro-h7:")
	})

	// The fix: a new rollout that converges all nine.
	f.write(t, "version 3\n")
	eventually(t, 90*time.Second, "the fixed rollout complete", func() bool {
		var ro v1alpha1.RolloutStatus
		return json.Unmarshal([]byte(get("/api/v1/rollout")), &ro) == nil && ro.Phase == v1alpha1.RolloutComplete && ro.Done == 9
	})
	for n := 1; n <= 9; n++ {
		if conf, _ := f.config(t, n); conf != "version 3" {
			t.Errorf("h%d after the fix: config %q", n, conf)
		}
	}
	eventually(t, 30*time.Second, "all nine Ready", allReady)
	metrics := get("/metrics")
	for _, want := range []string{`optimus_rollout_phase{phase="Complete"} 1`, `optimus_rollout_hosts{state="done"} 9`, `optimus_host_generation{generation=`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !strings.Contains(logs.String(), `"rollout":"`) || !strings.Contains(logs.String(), "rollout halted: failure budget spent") {
		t.Errorf("the logs do not carry the rollout generation or the halt")
	}
}
