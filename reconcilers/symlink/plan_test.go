package symlink

import (
	"context"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

func TestPlan(t *testing.T) {
	at := func(typ reconcilers.PathType, target string, empty bool) reconcilers.PathInfo {
		return reconcilers.PathInfo{Path: "/l", Exists: true, Type: typ, Target: target, Empty: empty}
	}
	for _, tc := range []struct {
		name    string
		spec    v1alpha1.SymlinkSpec
		cur     reconcilers.PathInfo
		script  string
		wantErr string
	}{
		{"create", v1alpha1.SymlinkSpec{Target: "/t"}, reconcilers.PathInfo{Path: "/l"}, "ln -s -- /t /l", ""},
		{"converged", v1alpha1.SymlinkSpec{Target: "/t"}, at("symlink", "/t", false), "", ""},
		{"retarget", v1alpha1.SymlinkSpec{Target: "/t"}, at("symlink", "/old", false), "ln -sfn -- /t /l", ""},
		{"file without force", v1alpha1.SymlinkSpec{Target: "/t"}, at("file", "", false), "", "set force: true"},
		{"file with force", v1alpha1.SymlinkSpec{Target: "/t", Force: true}, at("file", "", false), "rm -f -- /l && ln -s -- /t /l", ""},
		{"empty dir with force", v1alpha1.SymlinkSpec{Target: "/t", Force: true}, at("directory", "", true), "rmdir -- /l && ln -s -- /t /l", ""},
		{"full dir", v1alpha1.SymlinkSpec{Target: "/t", Force: true}, at("directory", "", false), "", "not empty"},
		{"remove", v1alpha1.SymlinkSpec{State: "absent"}, at("symlink", "/t", false), "rm -f -- /l", ""},
		{"remove a file", v1alpha1.SymlinkSpec{State: "absent"}, at("file", "", false), "", "not a symbolic link"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			s.Path = "/l"
			s.Default(nil)
			res := &v1alpha1.Resource{Metadata: v1alpha1.ObjectMeta{Name: "l"}, Spec: &s}
			facts := reconcilers.NewFacts(map[string]transport.Result{reconcilers.PathsKeyPrefix + "x": transport.Result{Stdout: reconcilers.EncodePaths(tc.cur)}})
			actions, err := reconcilers.AsReconciler(Reconciler{}).Plan(context.Background(), reconcilers.Request{Resource: res, Facts: facts})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.script == "" {
				if len(actions) != 0 {
					t.Errorf("want no action, got %+v", actions)
				}
				return
			}
			// The command runs under the guard of the link's path.
			if len(actions) != 1 || !strings.Contains(actions[0].Script, "_og /l ''") ||
				!strings.Contains(actions[0].Script, "_ob='"+tc.script+"\n'") {
				t.Errorf("got %+v, want %q under the guard", actions, tc.script)
			}
		})
	}
}
