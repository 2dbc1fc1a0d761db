package daemon

import (
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller/web"
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
