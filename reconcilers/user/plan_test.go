package user

import (
	"context"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

const passwd = `root:x:0:0:root:/root:/bin/bash
alice:x:1000:1000:Alice:/home/alice:/bin/sh
`

const group = `root:x:0:
sudo:x:27:alice
adm:x:4:
alice:x:1000:
`

func plan(t *testing.T, s *v1alpha1.UserSpec, name string) []reconcilers.Action {
	t.Helper()
	meta := &v1alpha1.ObjectMeta{Name: name}
	s.Default(meta)
	res := &v1alpha1.Resource{TypeMeta: v1alpha1.TypeMeta{Kind: "User"}, Metadata: *meta, Spec: s}
	facts := reconcilers.NewFacts(map[string]transport.Result{
		reconcilers.QueryPasswd.Key: transport.Result{Stdout: []byte(passwd)},
		reconcilers.QueryGroup.Key:  transport.Result{Stdout: []byte(group)},
		reconcilers.QueryShadow.Key: transport.Result{Stdout: []byte("alice:$6$old$oldhash:1::::::\n")},
	})
	actions, err := reconcilers.AsReconciler(Reconciler{}).Plan(context.Background(), reconcilers.Request{Resource: res, Facts: facts})
	if err != nil {
		t.Fatal(err)
	}
	return actions
}

func scripts(actions []reconcilers.Action) string {
	var s []string
	for _, a := range actions {
		s = append(s, a.Script)
	}
	return strings.Join(s, "; ")
}

func TestPlan(t *testing.T) {
	uid := 2000
	for _, tc := range []struct {
		name string
		user string
		spec v1alpha1.UserSpec
		want string
	}{
		{"converged", "alice", v1alpha1.UserSpec{Shell: "/bin/sh", Groups: []string{"sudo"}}, ""},
		{"create", "bob", v1alpha1.UserSpec{Shell: "/bin/bash", Groups: []string{"sudo", "adm"}, UID: &uid},
			"useradd -u 2000 -G sudo,adm -s /bin/bash -m bob"},
		{"change shell", "alice", v1alpha1.UserSpec{Shell: "/bin/bash", Groups: []string{"sudo"}},
			"usermod -s /bin/bash alice"},
		{"exact groups", "alice", v1alpha1.UserSpec{Groups: []string{"adm"}},
			"usermod -G adm alice"},
		{"append groups", "alice", v1alpha1.UserSpec{Groups: []string{"adm"}, Append: true},
			"usermod -a -G adm alice"},
		{"append satisfied", "alice", v1alpha1.UserSpec{Groups: []string{"sudo"}, Append: true}, ""},
		{"groups omitted: left alone", "alice", v1alpha1.UserSpec{Shell: "/bin/sh"}, ""},
		{"groups: [] means none", "alice", v1alpha1.UserSpec{Shell: "/bin/sh", Groups: []string{}}, "usermod -G '' alice"},
		{"remove", "alice", v1alpha1.UserSpec{State: "absent", RemoveHome: true}, "userdel -r alice"},
		{"remove missing", "oscar", v1alpha1.UserSpec{State: "absent"}, ""},
		{"primary group", "alice", v1alpha1.UserSpec{Group: "adm", Groups: []string{"sudo"}}, "usermod -g adm alice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.spec
			if got := scripts(plan(t, &spec, tc.user)); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestPasswordHashTravelsOnStdinOnly(t *testing.T) {
	t.Setenv("ALICE_HASH", "$6$new$secrethash")
	spec := v1alpha1.UserSpec{Shell: "/bin/sh", Groups: []string{"sudo"}, PasswordHashFrom: &v1alpha1.SecretSource{Env: "ALICE_HASH"}}
	actions := plan(t, &spec, "alice")
	if len(actions) != 1 {
		t.Fatalf("actions = %v", actions)
	}
	a := actions[0]
	if strings.Contains(a.Script, "secrethash") || strings.Contains(a.Description, "secrethash") ||
		strings.Contains(a.Changes[0].Before+a.Changes[0].After, "secrethash") {
		t.Errorf("hash leaked into script or plan: %+v", a)
	}
	if string(a.Stdin) != "alice:$6$new$secrethash\n" || a.Script != "chpasswd -e" {
		t.Errorf("stdin %q script %q", a.Stdin, a.Script)
	}
	t.Setenv("ALICE_HASH", "$6$old$oldhash")
	if got := plan(t, &spec, "alice"); len(got) != 0 {
		t.Errorf("same hash planned %v", got)
	}
}
