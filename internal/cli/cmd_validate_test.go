package cli

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

func manifestTestConfig(t *testing.T) Config {
	t.Helper()
	scheme, err := v1alpha1.NewScheme(v1alpha1.BuiltinKinds()...)
	if err != nil {
		t.Fatal(err)
	}
	return Config{Name: "optimus", Scheme: scheme, Version: "test"}
}

// runCLI runs the command line and returns its exit code and outputs.
func runCLI(t *testing.T, stdin io.Reader, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	code := Run(manifestTestConfig(t), args, stdin, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestValidateGood(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "validate", "-f", "../manifest/testdata/good")
	if code != 0 || out != "13 resources valid (3 hosts)\n" || errOut != "" {
		t.Errorf("code %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestValidateStdinAndWarnings(t *testing.T) {
	in := "apiVersion: optimus.dev/v1alpha1\nkind: User\nmetadata: {name: bob}\nspec:\n  hostSelector: {matchLabels: {role: web}}\n"
	code, out, errOut := runCLI(t, strings.NewReader(in), "validate", "-f", "-")
	if code != 0 || out != "1 resource valid (0 hosts)\n" {
		t.Errorf("code %d, stdout %q", code, out)
	}
	if want := "warning: <stdin>:5: User/bob: spec.hostSelector: matches no Host\n"; errOut != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
}

func TestValidateBadPrintsEveryError(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "validate", "-f", "../manifest/testdata/bad/wrong_type.yaml",
		"--filename", "../manifest/testdata/bad/dependency_cycle.yaml")
	if code != 1 || out != "" {
		t.Errorf("code %d, stdout %q", code, out)
	}
	golden := func(name string) string {
		b, err := os.ReadFile("../manifest/testdata/bad/" + name + ".golden")
		if err != nil {
			t.Fatal(err)
		}
		return strings.ReplaceAll(string(b), "testdata/", "../manifest/testdata/")
	}
	want := "optimus: invalid manifests (8 errors):\n" + golden("dependency_cycle") + golden("wrong_type")
	if errOut != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", errOut, want)
	}
}

func TestValidateUsage(t *testing.T) {
	code, _, errOut := runCLI(t, nil, "validate")
	if code != 1 || !strings.Contains(errOut, `"filename" not set`) {
		t.Errorf("code %d, stderr %q", code, errOut)
	}
	code, _, errOut = runCLI(t, nil, "validate", "-f", "does-not-exist.yaml")
	if code != 1 || !strings.Contains(errOut, "does-not-exist.yaml: no such file or directory") {
		t.Errorf("code %d, stderr %q", code, errOut)
	}
}

func TestValidateVarsSaysWhereEachValueComesFrom(t *testing.T) {
	manifests := `apiVersion: optimus.dev/v1alpha1
kind: Host
metadata: {name: web1, labels: {role: web}}
spec:
  address: 10.0.0.1
  hostKey: {policy: insecure}
  vars: {sshPort: 2201}
---
apiVersion: optimus.dev/v1alpha1
kind: GroupVars
metadata: {name: web}
spec:
  hostSelector: {matchLabels: {role: web}}
  vars: {sshPort: 22, relay: mail.example}
`
	code, out, errOut := runCLI(t, strings.NewReader(manifests), "validate", "-f", "-", "--vars", "web1")
	if code != 0 {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"web1  relay     mail.example  GroupVars/web (priority 0) at <stdin>:14",
		"web1  sshPort   2201          Host/web1 at <stdin>:7; overrides GroupVars/web (priority 0) at <stdin>:14 (22)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code, _, errOut := runCLI(t, strings.NewReader(manifests), "validate", "-f", "-", "--vars", "web9"); code != 1 || !strings.Contains(errOut, "no Host of that name") {
		t.Errorf("unknown host: code %d, stderr %q", code, errOut)
	}
}
