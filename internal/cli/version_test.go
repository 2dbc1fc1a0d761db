package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

func TestVersionJSON(t *testing.T) {
	code, stdout, stderr := runCLI(t, nil, "version", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var info v1alpha1.BuildInfo
	if err := json.Unmarshal([]byte(stdout), &info); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	// manifestTestConfig gives the tool the version "test".
	if info.Version != "test" || info.GoVersion != runtime.Version() || info.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("version -o json = %+v", info)
	}
	code, stdout, _ = runCLI(t, nil, "version")
	if code != 0 || !strings.HasPrefix(stdout, "optimus test\n") || !strings.Contains(stdout, runtime.Version()) {
		t.Errorf("version: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := runCLI(t, nil, "version", "-o", "yaml"); code != 1 || !strings.Contains(stderr, "want text or json") {
		t.Errorf("version -o yaml: exit %d, %s", code, stderr)
	}
}

func runController(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := RunController(context.Background(), manifestTestConfig(t), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestControllerVersionAndProbe(t *testing.T) {
	if code, stdout, stderr := runController(t, "--version"); code != 0 || !strings.HasPrefix(stdout, "optimus-controller test\n") {
		t.Errorf("--version: exit %d\n%s%s", code, stdout, stderr)
	}

	healthy := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !healthy {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	}))
	defer srv.Close()
	if code, _, stderr := runController(t, "--probe", srv.URL+"/healthz"); code != 0 {
		t.Errorf("--probe of a healthy server: exit %d, %s", code, stderr)
	}
	healthy = false
	if code, _, stderr := runController(t, "--probe", srv.URL+"/healthz"); code != 1 || !strings.Contains(stderr, "503") || !strings.Contains(stderr, "not yet") {
		t.Errorf("--probe of an unhealthy server: exit %d, %s", code, stderr)
	}
	srv.Close()
	if code, _, stderr := runController(t, "--probe", srv.URL+"/healthz"); code != 1 || !strings.Contains(stderr, "--probe") {
		t.Errorf("--probe of nothing: exit %d, %s", code, stderr)
	}
	if code, _, stderr := runController(t); code == 0 || !strings.Contains(stderr, "watch") {
		t.Errorf("neither --watch nor --probe: exit %d, %s", code, stderr)
	}
}
