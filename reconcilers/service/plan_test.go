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
	for _, tc := range []struct {
		name    string
		spec    v1alpha1.ServiceSpec
		facts   string
		scripts string
		refresh string
	}{
		{"systemd start and enable", v1alpha1.ServiceSpec{Enabled: &yes}, "systemd\nnginx\tno\tno\tyes\n",
			"_oiso systemctl enable nginx; _oiso systemctl start nginx", ""},
		{"systemd running restarts on refresh", v1alpha1.ServiceSpec{}, "systemd\nnginx\tyes\tyes\tyes\n", "", "_oiso systemctl restart nginx"},
		{"systemd stop and disable", v1alpha1.ServiceSpec{State: "stopped", Enabled: &no}, "systemd\nnginx\tyes\tyes\tyes\n",
			"_oiso systemctl disable nginx; _oiso systemctl stop nginx", ""},
		{"stopped needs no restart", v1alpha1.ServiceSpec{State: "stopped"}, "systemd\nnginx\tno\tno\tyes\n", "", ""},
		{"sysv start", v1alpha1.ServiceSpec{}, "sysv\nnginx\tno\tno\tyes\n", "_oiso service nginx start", ""},
		{"sysv enable", v1alpha1.ServiceSpec{Enabled: &yes}, "sysv\nnginx\tyes\tno\tyes\n",
			"update-rc.d nginx defaults >/dev/null && update-rc.d nginx enable", "_oiso service nginx restart"},
		{"sysv not installed yet", v1alpha1.ServiceSpec{}, "sysv\nnginx\tno\tno\tno\n", "_oiso service nginx start", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			s.Default(&v1alpha1.ObjectMeta{Name: "nginx"})
			res := &v1alpha1.Resource{Metadata: v1alpha1.ObjectMeta{Name: "nginx"}, Spec: &s}
			req := reconcilers.Request{Resource: res, Facts: reconcilers.NewFacts(map[string]transport.Result{KeyPrefix + "x": transport.Result{Stdout: []byte(tc.facts)}})}
			actions, err := reconcilers.AsReconciler(Reconciler{}).Plan(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if got := scripts(actions); got != tc.scripts {
				t.Errorf("plan %q, want %q", got, tc.scripts)
			}
			more, err := testenv.Refresher(t, Kind).Refresh(context.Background(), req, actions)
			if err != nil {
				t.Fatal(err)
			}
			if got := scripts(more); got != tc.refresh {
				t.Errorf("refresh %q, want %q", got, tc.refresh)
			}
		})
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
