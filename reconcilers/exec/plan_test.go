package exec

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/testenv"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

func TestPlanAndRefresh(t *testing.T) {
	for _, tc := range []struct {
		name          string
		spec          v1alpha1.ExecSpec
		decision      string
		plan, refresh int
	}{
		{"guard says run", v1alpha1.ExecSpec{Creates: "/x"}, Run, 1, 0},
		{"guard says skip", v1alpha1.ExecSpec{Creates: "/x"}, SkipCreates, 0, 0},
		{"refreshOnly", v1alpha1.ExecSpec{RefreshOnly: true}, Run, 0, 1},
		{"refreshOnly with unless", v1alpha1.ExecSpec{RefreshOnly: true, Unless: "true"}, SkipUnless, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			s.Command = "make install"
			s.Default(nil)
			res := &v1alpha1.Resource{Metadata: v1alpha1.ObjectMeta{Name: "e"}, Spec: &s}
			req := reconcilers.Request{Resource: res, Facts: reconcilers.NewFacts(map[string]transport.Result{KeyPrefix + "x": transport.Result{Stdout: []byte("other\trun\ne\t" + tc.decision + "\n")}})}
			planned, err := reconcilers.AsReconciler(Reconciler{}).Plan(context.Background(), req)
			if err != nil || len(planned) != tc.plan {
				t.Fatalf("plan %+v %v", planned, err)
			}
			more, err := testenv.Refresher(t, Kind).Refresh(context.Background(), req, planned)
			if err != nil || len(more) != tc.refresh {
				t.Fatalf("refresh %+v %v", more, err)
			}
		})
	}
}

// TestScriptsRunLocally runs the generated guard and action scripts with the
// local shell (no user switch).
func TestScriptsRunLocally(t *testing.T) {
	if _, err := exec.LookPath("timeout"); err != nil {
		t.Skip("no timeout command")
	}
	dir := t.TempDir()
	s := &v1alpha1.ExecSpec{Command: `echo "$FOO $PWD"; echo oops >&2; exit 4`, Cwd: dir, Env: map[string]string{"FOO": "it's"},
		Unless: "test -e " + dir + "/done", OnlyIf: "true", Timeout: &v1alpha1.Duration{Duration: time.Second}}
	out, err := exec.Command("sh", "-c", GuardScript("e", s)).Output()
	if err != nil || string(out) != "e\trun\n" {
		t.Fatalf("guard: %q %v", out, err)
	}
	a, err := action(s, "test")
	if err != nil {
		t.Fatal(err)
	}
	// Actions run isolated, which only the persistent shell knows how to.
	r := runLocal(t, a.Script, nil)
	if r.ExitCode != 4 || string(r.Stdout) != "it's "+dir+"\n" || string(r.Stderr) != "oops\n" {
		t.Errorf("action: %q %q %d", r.Stdout, r.Stderr, r.ExitCode)
	}
	slow := &v1alpha1.ExecSpec{Command: "sleep 3", Timeout: &v1alpha1.Duration{Duration: 100 * time.Millisecond}}
	sa, err := action(slow, "test")
	if err != nil {
		t.Fatal(err)
	}
	if r := runLocal(t, sa.Script, nil); r.ExitCode == 0 || !strings.Contains(string(r.Stderr), "timed out after 1s") {
		t.Errorf("timeout: %d %q", r.ExitCode, r.Stderr)
	}
}

// TestEnvFrom: secret environment values reach the command through stdin,
// never the script (which ends up in a shell's argv with su) or the plan.
func TestEnvFrom(t *testing.T) {
	t.Setenv("OPTIMUS_TEST_DB_PW", "s3cret 'quoted' $x")
	s := &v1alpha1.ExecSpec{Command: `printf '%s|' "$DB_PASSWORD"; cat`, Creates: "/x",
		EnvFrom: map[string]*v1alpha1.SecretSource{"DB_PASSWORD": {Env: "OPTIMUS_TEST_DB_PW"}}}
	s.Default(nil)
	a, err := action(s, "test")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(a.Script, "s3cret") || strings.Contains(a.Description, "s3cret") || a.Changes[0].After != s.Command {
		t.Errorf("the secret is in the script or plan: %+v", a)
	}
	if len(a.Secrets) != 1 || a.Secrets[0] != "s3cret 'quoted' $x" {
		t.Errorf("secrets %q", a.Secrets)
	}
	r := runLocal(t, a.Script, a.Stdin)
	// The command sees the value and no stdin of its own.
	if r.ExitCode != 0 || string(r.Stdout) != "s3cret 'quoted' $x|" {
		t.Errorf("command printed %q, %d %q", r.Stdout, r.ExitCode, r.Stderr)
	}
	t.Setenv("OPTIMUS_TEST_DB_PW", "a\nb")
	if _, err := action(s, "test"); err == nil || !strings.Contains(err.Error(), "spec.envFrom[DB_PASSWORD]") {
		t.Errorf("a newline in the value: %v", err)
	}
}

// runLocal runs script through a persistent shell on this machine, as the
// engine runs actions on a host.
func runLocal(t *testing.T, script string, stdin []byte) transport.Result {
	t.Helper()
	c, err := transport.Dial(context.Background(), &v1alpha1.Host{Metadata: v1alpha1.ObjectMeta{Name: "here"}, Spec: &v1alpha1.HostSpec{Transport: "local"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rs, err := c.Batch(context.Background(), []transport.Command{{Script: script, Stdin: stdin}})
	if err != nil {
		t.Fatal(err)
	}
	return rs[0]
}
