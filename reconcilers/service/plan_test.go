package service

import (
	"context"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/testenv"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

func TestPlan(t *testing.T) {
	yes, no := true, false
	conf := v1alpha1.ResourceRef{Kind: "File", Name: "conf"}
	site := v1alpha1.ResourceRef{Kind: "File", Name: "site"}
	for _, tc := range []struct {
		name    string
		spec    v1alpha1.ServiceSpec
		changed []v1alpha1.ResourceRef
		facts   string
		scripts string
		refresh string // what Refresh returns; "=" replaces the planned start
	}{
		{"systemd start and enable", v1alpha1.ServiceSpec{Enabled: &yes, RestartOn: []v1alpha1.ResourceRef{conf}}, []v1alpha1.ResourceRef{conf},
			"systemd\nnginx\tno\t-\tyes\tyes\tdisabled\n",
			"_oiso systemctl enable nginx; _oiso systemctl start nginx", "=_oiso systemctl restart nginx"},
		{"systemd running restarts on refresh", v1alpha1.ServiceSpec{RestartOn: []v1alpha1.ResourceRef{conf}}, []v1alpha1.ResourceRef{conf},
			"systemd\nnginx\tyes\t-\tyes\tyes\tenabled\n", "", "_oiso systemctl restart nginx"},
		{"systemd reload", v1alpha1.ServiceSpec{ReloadOn: []v1alpha1.ResourceRef{conf}}, []v1alpha1.ResourceRef{conf},
			"systemd\nnginx\tyes\t-\tyes\tyes\tenabled\n", "", "_oiso systemctl reload-or-restart nginx"},
		{"restart wins over reload", v1alpha1.ServiceSpec{RestartOn: []v1alpha1.ResourceRef{site}, ReloadOn: []v1alpha1.ResourceRef{conf}},
			[]v1alpha1.ResourceRef{conf, site}, "systemd\nnginx\tyes\t-\tyes\tyes\tenabled\n", "", "_oiso systemctl restart nginx"},
		{"systemd stop and disable", v1alpha1.ServiceSpec{State: "stopped", Enabled: &no}, nil, "systemd\nnginx\tyes\t-\tyes\tyes\tenabled\n",
			"_oiso systemctl disable nginx; _oiso systemctl stop nginx", ""},
		{"systemd enabled-runtime is not enabled at boot", v1alpha1.ServiceSpec{Enabled: &yes}, nil, "systemd\nnginx\tyes\t-\tyes\tyes\tenabled-runtime\n",
			"_oiso systemctl enable nginx", ""},
		{"systemd static cannot be disabled: converged", v1alpha1.ServiceSpec{Enabled: &no}, nil, "systemd\nnginx\tyes\t-\tyes\tyes\tstatic\n", "", ""},
		{"systemd static cannot be enabled: a note", v1alpha1.ServiceSpec{Enabled: &yes}, nil, "systemd\nnginx\tyes\t-\tyes\tyes\tstatic\n", "", ""},
		{"stopped needs no restart", v1alpha1.ServiceSpec{State: "stopped", RestartOn: []v1alpha1.ResourceRef{conf}}, []v1alpha1.ResourceRef{conf},
			"systemd\nnginx\tno\t-\tyes\tyes\tenabled\n", "", ""},
		{"sysv start", v1alpha1.ServiceSpec{}, nil, "sysv\nnginx\tno\tno\tyes\tno\t-\n", "_oiso service nginx start", ""},
		{"sysv enable", v1alpha1.ServiceSpec{Enabled: &yes, RestartOn: []v1alpha1.ResourceRef{conf}}, []v1alpha1.ResourceRef{conf}, "sysv\nnginx\tyes\tno\tyes\tno\t-\n",
			"sh -c ", "_oiso service nginx restart"},
		{"sysv not installed yet: start or restart", v1alpha1.ServiceSpec{RestartOn: []v1alpha1.ResourceRef{conf}}, []v1alpha1.ResourceRef{conf},
			"sysv\nnginx\tno\tno\tno\tno\t-\n", "_oiso service nginx start", "=_oiso sh -c "},
		{"sysv reload", v1alpha1.ServiceSpec{ReloadOn: []v1alpha1.ResourceRef{conf}}, []v1alpha1.ResourceRef{conf},
			"sysv\nnginx\tyes\tyes\tyes\tyes\t-\n", "", "_oiso sh -c "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			s.Default(&v1alpha1.ObjectMeta{Name: "nginx"})
			res := &v1alpha1.Resource{Metadata: v1alpha1.ObjectMeta{Name: "nginx"}, Spec: &s}
			req := reconcilers.Request{Resource: res, Facts: reconcilers.NewFacts(map[string]transport.Result{KeyPrefix + "x": transport.Result{Stdout: []byte(tc.facts)}})}
			planned, err := reconcilers.AsReconciler(Reconciler{}).Plan(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			actions, notes := reconcilers.SplitNotes(planned)
			if got := scripts(actions); got != tc.scripts && !(strings.HasSuffix(tc.scripts, "sh -c ") && strings.HasPrefix(got, tc.scripts)) {
				t.Errorf("plan %q, want %q", got, tc.scripts)
			}
			if strings.Contains(tc.name, "a note") != (len(notes) == 1) {
				t.Errorf("notes %q", notes)
			}
			if len(tc.changed) == 0 {
				return
			}
			req.Changed = tc.changed
			more, err := testenv.Refresher(t, Kind).Refresh(context.Background(), req, actions)
			if err != nil {
				t.Fatal(err)
			}
			got := scripts(more)
			if len(more) == 1 && more[0].Replaces == reconcilers.OpCreate {
				got = "=" + got
			}
			if want := tc.refresh; got != want && !(strings.HasSuffix(want, "sh -c ") && strings.HasPrefix(got, want)) {
				t.Errorf("refresh %q, want %q", got, want)
			}
		})
	}
}

// TestRefreshDescriptions checks that the plan says what the refresh does
// and why, including the restart a start becomes when the service runs.
func TestRefreshDescriptions(t *testing.T) {
	conf := v1alpha1.ResourceRef{Kind: "File", Name: "conf"}
	for _, tc := range []struct {
		facts, want string
		reload      bool
	}{
		{"sysv\nnginx\tno\tno\tno\tno\t-\n", "start service nginx (restart if already running: File/conf changed)", false},
		{"sysv\nnginx\tyes\tno\tyes\tno\t-\n", "restart service nginx (File/conf changed)", false},
		{"sysv\nnginx\tyes\tno\tyes\tno\t-\n", "restart service nginx (File/conf changed; it cannot reload)", true},
		{"sysv\nnginx\tyes\tno\tyes\tyes\t-\n", "reload service nginx (File/conf changed)", true},
		{"sysv\nnginx\tno\tno\tyes\tyes\t-\n", "start service nginx (reload if already running: File/conf changed)", true},
		{"sysv\nnginx\tno\tno\tyes\tno\t-\n", "start service nginx (restart if already running: File/conf changed; it cannot reload)", true},
		{"sysv\nnginx\tno\tno\tno\tno\t-\n", "start service nginx (reload if already running: File/conf changed)", true},
	} {
		s := v1alpha1.ServiceSpec{RestartOn: []v1alpha1.ResourceRef{conf}}
		if tc.reload {
			s = v1alpha1.ServiceSpec{ReloadOn: []v1alpha1.ResourceRef{conf}}
		}
		s.Default(&v1alpha1.ObjectMeta{Name: "nginx"})
		res := &v1alpha1.Resource{Metadata: v1alpha1.ObjectMeta{Name: "nginx"}, Spec: &s}
		req := reconcilers.Request{Resource: res, Changed: []v1alpha1.ResourceRef{conf},
			Facts: reconcilers.NewFacts(map[string]transport.Result{KeyPrefix + "x": {Stdout: []byte(tc.facts)}})}
		planned, err := reconcilers.AsReconciler(Reconciler{}).Plan(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		more, err := testenv.Refresher(t, Kind).Refresh(context.Background(), req, planned)
		if err != nil || len(more) != 1 || more[0].Description != tc.want {
			t.Errorf("%q: got %+v, %v; want %q", tc.facts, more, err, tc.want)
		}
	}
}

func TestMaskedUnitIsRefused(t *testing.T) {
	yes := true
	s := v1alpha1.ServiceSpec{Enabled: &yes}
	s.Default(&v1alpha1.ObjectMeta{Name: "nginx"})
	res := &v1alpha1.Resource{Metadata: v1alpha1.ObjectMeta{Name: "nginx"}, Spec: &s}
	req := reconcilers.Request{Resource: res, Facts: reconcilers.NewFacts(map[string]transport.Result{KeyPrefix + "x": {Stdout: []byte("systemd\nnginx\tno\t-\tyes\tno\tmasked\n")}})}
	_, err := reconcilers.AsReconciler(Reconciler{}).Plan(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "systemctl unmask nginx") {
		t.Errorf("got %v, want an error that says how to unmask", err)
	}
}

func scripts(actions []reconcilers.Action) string {
	var s []string
	for _, a := range actions {
		s = append(s, a.Script)
	}
	return strings.Join(s, "; ")
}

func TestDependencies(t *testing.T) {
	mk := func(kind, name string, spec any) *v1alpha1.Resource {
		r := &v1alpha1.Resource{TypeMeta: v1alpha1.TypeMeta{Kind: kind}, Metadata: v1alpha1.ObjectMeta{Name: name}, Spec: spec}
		r.Spec.(v1alpha1.Defaulter).Default(&r.Metadata)
		return r
	}
	svc := mk("Service", "nginx", &v1alpha1.ServiceSpec{})
	web := mk("Package", "web", &v1alpha1.PackageSpec{Names: []string{"nginx", "ssl-cert"}})
	tools := mk("Package", "tools", &v1alpha1.PackageSpec{Names: []string{"curl"}})
	if got := testenv.Registry(t, Kind).Dependencies(svc, []*v1alpha1.Resource{svc, web, tools}); len(got) != 1 || got[0].Name != "web" {
		t.Errorf("named package: %v", got)
	}
	if got := testenv.Registry(t, Kind).Dependencies(svc, []*v1alpha1.Resource{svc, tools}); len(got) != 0 {
		t.Errorf("no named package: %v, want no dependency", got)
	}
}

func TestQueryScriptSystemdIsReadOnly(t *testing.T) {
	q := QueryScript([]string{"nginx"})
	for _, verb := range []string{"start", "stop", "restart", "enable ", "disable"} {
		if strings.Contains(q, "systemctl "+verb) {
			t.Errorf("query runs systemctl %s", verb)
		}
	}
}
