package authorizedkey

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

const (
	key   = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== me@x"
	other = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB you@y"
)

func TestPlan(t *testing.T) {
	record := func(state, dir, file, content string) []byte {
		return []byte("alice\x00" + state + "\x00" + dir + "\x00" + file + "\x00" + base64.StdEncoding.EncodeToString([]byte(content)) + "\x00")
	}
	for _, tc := range []struct {
		name, state, options string
		facts                []byte
		op                   reconcilers.Op // "" for no action
	}{
		{"converged", "present", "", record("ok", "700/alice", "600/alice", other+"\n"+key+"\n"), ""},
		{"add", "present", "", record("ok", "700/alice", "600/alice", other+"\n"), reconcilers.OpCreate},
		{"no file yet", "present", "", record("ok", "", "", ""), reconcilers.OpCreate},
		{"user created later", "present", "", record("nouser", "", "", ""), reconcilers.OpCreate},
		{"options changed", "present", "no-pty", record("ok", "700/alice", "600/alice", key+"\n"), reconcilers.OpUpdate},
		{"modes", "present", "", record("ok", "755/alice", "644/root", key+"\n"), reconcilers.OpUpdate},
		{"remove", "absent", "", record("ok", "700/alice", "600/alice", "no-pty "+key+"\n"+other+"\n"), reconcilers.OpDelete},
		{"remove missing", "absent", "", record("ok", "700/alice", "600/alice", other+"\n"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &v1alpha1.AuthorizedKeySpec{User: "alice", Key: key, Options: tc.options, State: tc.state}
			res := &v1alpha1.Resource{Metadata: v1alpha1.ObjectMeta{Name: "k"}, Spec: s}
			facts := reconcilers.NewFacts(map[string]transport.Result{KeyPrefix + "x": transport.Result{Stdout: tc.facts}})
			actions, err := reconcilers.AsReconciler(Reconciler{}).Plan(context.Background(), reconcilers.Request{Resource: res, Facts: facts})
			if err != nil {
				t.Fatal(err)
			}
			if tc.op == "" {
				if len(actions) != 0 {
					t.Fatalf("want nothing, got %+v", actions)
				}
				return
			}
			if len(actions) != 1 || actions[0].Op != tc.op {
				t.Fatalf("want %s, got %+v", tc.op, actions)
			}
			a := actions[0]
			if !strings.Contains(a.Script, "O_BLOB='AAAAC3NzaC1lZDI1NTE5AAAAIA=='") || !strings.Contains(a.Script, `chmod 600 "$t"`) {
				t.Errorf("script %s", a.Script)
			}
			if tc.state == "absent" && !strings.Contains(a.Script, "O_LINE='' ") {
				t.Errorf("absent appends a line: %s", a.Script)
			}
		})
	}
}

func TestDependsOnUser(t *testing.T) {
	k := &v1alpha1.Resource{TypeMeta: v1alpha1.TypeMeta{Kind: "AuthorizedKey"}, Metadata: v1alpha1.ObjectMeta{Name: "k"},
		Spec: &v1alpha1.AuthorizedKeySpec{User: "alice", Key: key}}
	u := &v1alpha1.Resource{TypeMeta: v1alpha1.TypeMeta{Kind: "User"}, Metadata: v1alpha1.ObjectMeta{Name: "alice"},
		Spec: &v1alpha1.UserSpec{Name: "alice"}}
	if got := registry(t).Dependencies(k, []*v1alpha1.Resource{k, u}); len(got) != 1 || got[0].String() != "User/alice" {
		t.Errorf("deps %v", got)
	}
}
