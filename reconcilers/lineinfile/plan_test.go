package lineinfile

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// planLocal observes path with the kind's own query, run by the local sh,
// and plans s against it.
func planLocal(t *testing.T, s *v1alpha1.LineInFileSpec) ([]reconcilers.Action, error) {
	t.Helper()
	s.Default(nil)
	res := &v1alpha1.Resource{TypeMeta: v1alpha1.TypeMeta{Kind: "LineInFile"}, Metadata: v1alpha1.ObjectMeta{Name: "x"}, Spec: s}
	r := reconcilers.AsReconciler(Reconciler{})
	results := map[string]transport.Result{}
	for _, q := range r.Queries(nil, []*v1alpha1.Resource{res}) {
		// The engine merges the path requests of every kind into one query.
		out, err := exec.Command("sh", "-c", reconcilers.PathsQuery(q.Paths).Script).Output()
		if err != nil {
			t.Fatalf("query: %v", err)
		}
		results[reconcilers.PathsKeyPrefix+"local"] = transport.Result{Stdout: out}
	}
	return r.Plan(context.Background(), reconcilers.Request{Resource: res, Facts: reconcilers.NewFacts(results)})
}

// act runs the action's script with the local sh and awk.
// act runs the action in a local persistent shell, as Optimus runs it on a
// host (that shell defines the path guard the script calls).
func act(t *testing.T, a reconcilers.Action) (string, error) {
	t.Helper()
	c, err := transport.Dial(context.Background(), &v1alpha1.Host{Metadata: v1alpha1.ObjectMeta{Name: "here"}, Spec: &v1alpha1.HostSpec{Transport: "local"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rs, err := c.Batch(context.Background(), []transport.Command{{Script: a.Script, Stdin: a.Stdin}})
	if err != nil {
		return "", err
	}
	out := string(rs[0].Stdout) + string(rs[0].Stderr)
	if rs[0].ExitCode != 0 {
		return out, fmt.Errorf("exit status %d", rs[0].ExitCode)
	}
	return out, nil
}

// TestPlanAndEdit plans each edit from the content and runs the generated
// script on a local copy with the local sh and awk, then plans again: the
// second plan is empty.
func TestPlanAndEdit(t *testing.T) {
	if _, err := exec.LookPath("awk"); err != nil {
		t.Skip("no awk")
	}
	const conf = "# config\nport = 80\n#port = 1\nname = a\n"
	for _, tc := range []struct {
		name string
		spec v1alpha1.LineInFileSpec
		in   string
		want string // "" when no edit is planned
	}{
		{"replace last match", v1alpha1.LineInFileSpec{Line: "port = 8080", Regexp: "port ="}, conf, "# config\nport = 80\nport = 8080\nname = a\n"},
		{"already there", v1alpha1.LineInFileSpec{Line: "port = 80", Regexp: "^port"}, conf, ""},
		{"no match appends", v1alpha1.LineInFileSpec{Line: "x = 1", Regexp: "^x"}, conf, conf + "x = 1\n"},
		{"present without regexp", v1alpha1.LineInFileSpec{Line: "name = a"}, conf, ""},
		{"insert after", v1alpha1.LineInFileSpec{Line: "host = h", InsertAfter: "^# config"}, conf, "# config\nhost = h\nport = 80\n#port = 1\nname = a\n"},
		{"insert after missing anchor", v1alpha1.LineInFileSpec{Line: "host = h", InsertAfter: "^nope"}, conf, conf + "host = h\n"},
		{"insert before", v1alpha1.LineInFileSpec{Line: "host = h", InsertBefore: "^name"}, conf, "# config\nport = 80\n#port = 1\nhost = h\nname = a\n"},
		{"insert at BOF", v1alpha1.LineInFileSpec{Line: "host = h", InsertBefore: "BOF"}, conf, "host = h\n" + conf},
		{"no final newline", v1alpha1.LineInFileSpec{Line: "b"}, "a", "a\nb\n"},
		{"empty file", v1alpha1.LineInFileSpec{Line: "b"}, "", "b\n"},
		{"absent by regexp", v1alpha1.LineInFileSpec{State: "absent", Regexp: "port"}, conf, "# config\nname = a\n"},
		{"absent by line", v1alpha1.LineInFileSpec{State: "absent", Line: "name = a"}, conf, "# config\nport = 80\n#port = 1\n"},
		{"absent missing", v1alpha1.LineInFileSpec{State: "absent", Line: "zzz"}, conf, ""},
		{"special characters", v1alpha1.LineInFileSpec{Line: `a\tb $HOME 'q' "d" \n`}, "", "a\\tb $HOME 'q' \"d\" \\n\n"},
		{"several lines in order", v1alpha1.LineInFileSpec{Lines: []v1alpha1.LineSpec{
			{Regexp: "^#?port", Line: "port = 22"},
			{Line: "host = h", InsertAfter: "^port = 22$"},
			{Regexp: "^name", State: "absent"},
			{Line: "# config"},
		}}, conf, "# config\nport = 80\nport = 22\nhost = h\n"},
		{"several lines, some there", v1alpha1.LineInFileSpec{Lines: []v1alpha1.LineSpec{
			{Regexp: "^port", Line: "port = 80"}, {Line: "z = 1"},
		}}, conf, conf + "z = 1\n"},
		{"several lines, all there", v1alpha1.LineInFileSpec{Lines: []v1alpha1.LineSpec{
			{Regexp: "^port", Line: "port = 80"}, {Line: "name = a"}, {Line: "x", State: "absent"},
		}}, conf, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "conf")
			if err := os.WriteFile(f, []byte(tc.in), 0o640); err != nil {
				t.Fatal(err)
			}
			s := tc.spec
			s.Path = f
			actions, err := planLocal(t, &s)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if len(actions) != 0 {
					t.Fatalf("edit planned: %+v", actions)
				}
				return
			}
			if len(actions) != 1 {
				t.Fatalf("want one action, got %+v", actions)
			}
			if out, err := act(t, actions[0]); err != nil {
				t.Fatalf("script: %v %s", err, out)
			}
			got, _ := os.ReadFile(f)
			if string(got) != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if st, _ := os.Stat(f); st.Mode().Perm() != 0o640 {
				t.Errorf("mode %v", st.Mode())
			}
			if again, err := planLocal(t, &s); err != nil || len(again) != 0 {
				t.Errorf("second plan: %v %+v", err, again)
			}
		})
	}
}

// TestValidateCreateAndAttributes: a rejected edit leaves the file as it
// was; create makes the file with the wanted mode; mode alone is changed
// without rewriting.
func TestValidateCreateAndAttributes(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "conf")
	if err := os.WriteFile(f, []byte("a = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := &v1alpha1.LineInFileSpec{Path: f, Lines: []v1alpha1.LineSpec{{Line: "b = 2"}, {Line: "broken"}},
		Validate: "! grep -q broken %s"}
	actions, err := planLocal(t, bad)
	if err != nil || len(actions) != 1 {
		t.Fatalf("plan: %v %+v", err, actions)
	}
	if !strings.Contains(actions[0].Description, "validated by") {
		t.Errorf("description %q", actions[0].Description)
	}
	out, err := act(t, actions[0])
	if err == nil || !strings.Contains(out, "rejected the new content") {
		t.Fatalf("a rejected edit ran: %v %s", err, out)
	}
	if got, _ := os.ReadFile(f); string(got) != "a = 1\n" {
		t.Errorf("file changed: %q", got)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".optimus.*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}

	undo := &v1alpha1.LineInFileSpec{Path: f, Lines: []v1alpha1.LineSpec{{Line: "a = 2"}, {Regexp: "^a", Line: "a = 3"}}}
	if _, err := planLocal(t, undo); err == nil || !strings.Contains(err.Error(), "the lines undo each other") {
		t.Errorf("lines that undo each other: %v", err)
	}

	mode := &v1alpha1.LineInFileSpec{Path: f, Line: "a = 1", Mode: "0644"}
	actions, err = planLocal(t, mode)
	if err != nil || len(actions) != 1 || !strings.Contains(actions[0].Description, "change mode") {
		t.Fatalf("plan: %v %+v", err, actions)
	}
	if out, err := act(t, actions[0]); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if st, _ := os.Stat(f); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", st.Mode())
	}

	created := filepath.Join(dir, "new")
	missing := &v1alpha1.LineInFileSpec{Path: created, Line: "x"}
	actions, err = planLocal(t, missing)
	if err != nil || len(actions) != 1 {
		t.Fatalf("plan: %v %+v", err, actions)
	}
	if out, err := act(t, actions[0]); err == nil || !strings.Contains(out, "does not exist") {
		t.Fatalf("edit of a missing file: %v %s", err, out)
	}
	// Made by a File between plan and act: the edit keeps its mode.
	if err := os.WriteFile(created, []byte("first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := act(t, actions[0]); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if got, _ := os.ReadFile(created); string(got) != "first\nx\n" {
		t.Errorf("edited %q", got)
	}
	if st, _ := os.Stat(created); st.Mode().Perm() != 0o600 {
		t.Errorf("the edit changed the mode of a file made after the plan: %v", st.Mode())
	}
	os.Remove(created)

	dflt := filepath.Join(dir, "dflt")
	actions, err = planLocal(t, &v1alpha1.LineInFileSpec{Path: dflt, Line: "x", Create: true})
	if err != nil || len(actions) != 1 {
		t.Fatalf("plan: %v %+v", err, actions)
	}
	if out, err := act(t, actions[0]); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if st, _ := os.Stat(dflt); st.Mode().Perm() != 0o644 {
		t.Errorf("a created file without mode: %v", st.Mode())
	}

	create := &v1alpha1.LineInFileSpec{Path: created, Line: "x", Create: true, Mode: "0640"}
	actions, err = planLocal(t, create)
	if err != nil || len(actions) != 1 || actions[0].Op != reconcilers.OpCreate {
		t.Fatalf("plan: %v %+v", err, actions)
	}
	if out, err := act(t, actions[0]); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if got, _ := os.ReadFile(created); string(got) != "x\n" {
		t.Errorf("created %q", got)
	}
	if st, _ := os.Stat(created); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", st.Mode())
	}
}
