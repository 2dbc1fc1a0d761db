package lineinfile

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/transport"
)

// TestPlanAndEdit plans each edit from the content and runs the generated
// script on a local copy with the local sh and awk.
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
		{"no final newline", v1alpha1.LineInFileSpec{Line: "b"}, "a", "a\nb\n"},
		{"empty file", v1alpha1.LineInFileSpec{Line: "b"}, "", "b\n"},
		{"absent by regexp", v1alpha1.LineInFileSpec{State: "absent", Regexp: "port"}, conf, "# config\nname = a\n"},
		{"absent by line", v1alpha1.LineInFileSpec{State: "absent", Line: "name = a"}, conf, "# config\nport = 80\n#port = 1\n"},
		{"absent missing", v1alpha1.LineInFileSpec{State: "absent", Line: "zzz"}, conf, ""},
		{"special characters", v1alpha1.LineInFileSpec{Line: `a\tb $HOME 'q' "d" \n`}, "", "a\\tb $HOME 'q' \"d\" \\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			s.Path = "/x"
			s.Default(nil)
			e, err := plan(&s, splitLines(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if e == nil {
				if tc.want != "" {
					t.Fatalf("no edit planned, want %q", tc.want)
				}
				return
			}
			if tc.want == "" {
				t.Fatalf("edit planned: %+v", e)
			}
			f := filepath.Join(t.TempDir(), "conf")
			if err := os.WriteFile(f, []byte(tc.in), 0o640); err != nil {
				t.Fatal(err)
			}
			// Through a local persistent shell, which defines the guard.
			if r := runLocal(t, script(f, e)); r.ExitCode != 0 {
				t.Fatalf("script: exit %d %s%s", r.ExitCode, r.Stdout, r.Stderr)
			}
			got, _ := os.ReadFile(f)
			if string(got) != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if st, _ := os.Stat(f); st.Mode().Perm() != 0o640 {
				t.Errorf("mode %v", st.Mode())
			}
		})
	}
}

// runLocal runs script in a local persistent shell, as Optimus runs it on a
// host.
func runLocal(t *testing.T, script string) transport.Result {
	t.Helper()
	c, err := transport.Dial(context.Background(), &v1alpha1.Host{Metadata: v1alpha1.ObjectMeta{Name: "here"}, Spec: &v1alpha1.HostSpec{Transport: "local"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rs, err := c.Batch(context.Background(), []transport.Command{{Script: script}})
	if err != nil {
		t.Fatal(err)
	}
	return rs[0]
}
