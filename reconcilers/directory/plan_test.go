package directory

import (
	"context"
	"io/fs"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

func TestPlan(t *testing.T) {
	dir := func(mode fs.FileMode, owner string, empty bool) reconcilers.PathInfo {
		return reconcilers.PathInfo{Path: "/srv/d", Exists: true, Type: reconcilers.TypeDirectory, Mode: mode, Owner: owner, Group: "root", Empty: empty}
	}
	for _, tc := range []struct {
		name    string
		spec    v1alpha1.DirectorySpec
		cur     reconcilers.PathInfo
		script  string
		wantErr string
	}{
		{"create", v1alpha1.DirectorySpec{Mode: "0750", Owner: "www"}, reconcilers.PathInfo{Path: "/srv/d"},
			`_og /srv/d www d|p=/srv/d c=|mkdir -- "$c"|chmod 0750 -- "$p"|chown -h www -- "$p"`, ""},
		{"create default mode", v1alpha1.DirectorySpec{}, reconcilers.PathInfo{Path: "/srv/d"}, `mkdir -- "$c"|chmod 0755 -- "$p"`, ""},
		{"converged", v1alpha1.DirectorySpec{Mode: "755", Owner: "root"}, dir(0o755, "root", true), "", ""},
		{"chmod", v1alpha1.DirectorySpec{Mode: "0700"}, dir(0o755, "root", true), `p=/srv/d|chmod 0700 -- "$p"`, ""},
		{"chown", v1alpha1.DirectorySpec{Owner: "www"}, dir(0o755, "root", true), `_og /srv/d www|chown -h www -- "$p"`, ""},
		{"remove empty", v1alpha1.DirectorySpec{State: "absent"}, dir(0o755, "root", true), "_og /srv/d ''|_ob='rmdir -- /srv/d", ""},
		{"remove full", v1alpha1.DirectorySpec{State: "absent"}, dir(0o755, "root", false), "", "not empty: set force: true"},
		{"remove full forced", v1alpha1.DirectorySpec{State: "absent", Force: true}, dir(0o755, "root", false), "_og /srv/d ''|_ob='rm -rf -- /srv/d", ""},
		{"file in the way", v1alpha1.DirectorySpec{}, reconcilers.PathInfo{Path: "/srv/d", Exists: true, Type: reconcilers.TypeFile}, "", "not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			s.Path = "/srv/d"
			s.Default(nil)
			res := &v1alpha1.Resource{Metadata: v1alpha1.ObjectMeta{Name: "d"}, Spec: &s}
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
			// Every script runs under the guard; the fragments must be in it.
			if len(actions) != 1 || !strings.Contains(actions[0].Script, "_og ") {
				t.Fatalf("want 1 guarded action, got %+v", actions)
			}
			for _, want := range strings.Split(tc.script, "|") {
				if !strings.Contains(actions[0].Script, want) {
					t.Errorf("script %q does not contain %q", actions[0].Script, want)
				}
			}
		})
	}
}
