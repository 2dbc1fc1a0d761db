package exec

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/reconcilers/internal/testenv"
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
	cmd := exec.Command("sh", "-c", a.Script)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 4 || string(out) != "it's "+dir+"\n" || stderr.String() != "oops\n" {
		t.Errorf("action: %q %q %v", out, stderr.String(), err)
	}
	slow := &v1alpha1.ExecSpec{Command: "sleep 3", Timeout: &v1alpha1.Duration{Duration: 100 * time.Millisecond}}
	sa, err := action(slow, "test")
	if err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command("sh", "-c", sa.Script)
	stderr.Reset()
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), "timed out after 1s") {
		t.Errorf("timeout: %v %q", err, stderr.String())
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
	cmd := exec.Command("sh", "-c", a.Script)
	cmd.Stdin = strings.NewReader(string(a.Stdin))
	out, err := cmd.Output()
	// The command sees the value and no stdin of its own.
	if err != nil || string(out) != "s3cret 'quoted' $x|" {
		t.Errorf("command printed %q, %v", out, err)
	}
	t.Setenv("OPTIMUS_TEST_DB_PW", "a\nb")
	if _, err := action(s, "test"); err == nil || !strings.Contains(err.Error(), "spec.envFrom[DB_PASSWORD]") {
		t.Errorf("a newline in the value: %v", err)
	}
}
