package blockinfile

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// planLocal observes the file with the kind's own query, run by the local
// sh, and plans s against it.
func planLocal(t *testing.T, s *v1alpha1.BlockInFileSpec) ([]reconcilers.Action, error) {
	t.Helper()
	meta := v1alpha1.ObjectMeta{Name: "app"}
	s.Default(&meta)
	res := &v1alpha1.Resource{TypeMeta: v1alpha1.TypeMeta{Kind: "BlockInFile"}, Metadata: meta, Spec: s}
	r := reconcilers.AsReconciler(Reconciler{})
	results := map[string]transport.Result{}
	for _, q := range r.Queries(nil, []*v1alpha1.Resource{res}) {
		out, err := exec.Command("sh", "-c", reconcilers.PathsQuery(q.Paths).Script).Output()
		if err != nil {
			t.Fatalf("query: %v", err)
		}
		results[reconcilers.PathsKeyPrefix+"local"] = transport.Result{Stdout: out}
	}
	return r.Plan(context.Background(), reconcilers.Request{Resource: res, Facts: reconcilers.NewFacts(results)})
}

// converge plans s, runs the action with the local sh and awk, and checks
// that a second plan is empty; it returns the file's content.
func converge(t *testing.T, s v1alpha1.BlockInFileSpec) string {
	t.Helper()
	actions, err := planLocal(t, &s)
	if err != nil {
		t.Fatal(err)
	}
	// Through a local persistent shell, as Optimus runs actions on a host:
	// it defines the path guard the scripts call.
	c, err := transport.Dial(context.Background(), &v1alpha1.Host{Metadata: v1alpha1.ObjectMeta{Name: "here"}, Spec: &v1alpha1.HostSpec{Transport: "local"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, a := range actions {
		rs, err := c.Batch(context.Background(), []transport.Command{{Script: a.Script, Stdin: a.Stdin}})
		if err != nil || rs[0].ExitCode != 0 {
			t.Fatalf("%s: %v %+v", a.Description, err, rs)
		}
	}
	if again, err := planLocal(t, &s); err != nil || len(again) != 0 {
		t.Fatalf("second plan: %v %+v", err, again)
	}
	got, _ := os.ReadFile(s.Path)
	return string(got)
}

func TestBlockLifecycle(t *testing.T) {
	if _, err := exec.LookPath("awk"); err != nil {
		t.Skip("no awk")
	}
	f := filepath.Join(t.TempDir(), "sshd_config")
	if err := os.WriteFile(f, []byte("Port 22\nSubsystem sftp internal-sftp\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := v1alpha1.BlockInFileSpec{Path: f, Block: "Match User backup\n  ForceCommand internal-sftp\n", InsertBefore: "^Subsystem"}
	want := "Port 22\n# BEGIN OPTIMUS MANAGED BLOCK app\nMatch User backup\n  ForceCommand internal-sftp\n# END OPTIMUS MANAGED BLOCK app\nSubsystem sftp internal-sftp\n"
	if got := converge(t, s); got != want {
		t.Fatalf("inserted: %q", got)
	}
	s.Block = "Match User backup\n  ForceCommand internal-sftp -u 077"
	s.InsertBefore = "" // a block already there stays where it is
	actions, err := planLocal(t, &s)
	if err != nil || len(actions) != 1 || !strings.Contains(actions[0].Diff, "+  ForceCommand internal-sftp -u 077") {
		t.Fatalf("update plan: %v %+v", err, actions)
	}
	if got := converge(t, s); got != strings.Replace(want, "internal-sftp\n# END", "internal-sftp -u 077\n# END", 1) {
		t.Fatalf("updated: %q", got)
	}
	s.State = v1alpha1.StateAbsent
	if got := converge(t, s); got != "Port 22\nSubsystem sftp internal-sftp\n" {
		t.Fatalf("removed: %q", got)
	}
	if st, _ := os.Stat(f); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}

	// A marker of its own, at the beginning of a file the edit creates.
	n := filepath.Join(filepath.Dir(f), "new.xml")
	got := converge(t, v1alpha1.BlockInFileSpec{Path: n, Block: "<a/>", Marker: "<!-- {mark} app -->", InsertBefore: "BOF", Create: true, Mode: "0640"})
	if got != "<!-- BEGIN app -->\n<a/>\n<!-- END app -->\n" {
		t.Errorf("created: %q", got)
	}
	if st, _ := os.Stat(n); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", st.Mode())
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		spec v1alpha1.BlockInFileSpec
		want string
	}{
		{v1alpha1.BlockInFileSpec{Block: "x", Marker: "# managed"}, "must contain {mark}"},
		{v1alpha1.BlockInFileSpec{Block: "x", MarkerBegin: "M", MarkerEnd: "M"}, "must differ"},
		{v1alpha1.BlockInFileSpec{Block: "# BEGIN OPTIMUS MANAGED BLOCK app"}, "is a marker line"},
		{v1alpha1.BlockInFileSpec{Block: "x", InsertAfter: "a", InsertBefore: "b"}, "insertAfter"},
		{v1alpha1.BlockInFileSpec{Block: "x", Validate: "sshd -t"}, "must contain %s"},
	} {
		tc.spec.Default(&v1alpha1.ObjectMeta{Name: "app"})
		errs := tc.spec.Check()
		if len(errs) != 1 || !strings.Contains(errs[0].Message, tc.want) {
			t.Errorf("%+v: %+v, want %q", tc.spec, errs, tc.want)
		}
	}
}
