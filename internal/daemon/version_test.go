package daemon

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// TestBuildReportedAndSystemdNotified runs a daemon as systemd would
// (with $NOTIFY_SOCKET) and checks that it says READY=1 once it serves,
// reports its build in /metrics, /api/v1/status and the state file, and
// says STOPPING=1 when stopped.
func TestBuildReportedAndSystemdNotified(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)

	scheme, err := v1alpha1.NewScheme(v1alpha1.HostKind)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := reconcilers.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	build := &v1alpha1.BuildInfo{Version: "v9.8.7", Revision: "0123456789abcdef0123456789abcdef01234567", BuildDate: "2026-12-01T00:00:00Z", GoVersion: "go1.26.8", Platform: "linux/amd64"}
	stateDir := t.TempDir()
	d, err := New(Options{Dir: t.TempDir(), StateDir: stateDir, Listen: "127.0.0.1:0", Scheme: scheme, Registry: reg, Version: build})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, nil) }()

	readNotify := func(want string) {
		t.Helper()
		buf := make([]byte, 256)
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		n, err := conn.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("notify socket: got %q, %v; want %q", buf[:n], err, want)
		}
	}
	readNotify("READY=1")

	base := "http://" + d.Addr()
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
		}
		return string(b)
	}
	metrics := get("/metrics")
	wantMetric := `optimus_build_info{build_date="2026-12-01T00:00:00Z",goversion="go1.26.8",modified="false",revision="0123456789abcdef0123456789abcdef01234567",version="v9.8.7"} 1`
	if !strings.Contains(metrics, wantMetric) {
		t.Errorf("/metrics lacks %s", wantMetric)
	}
	var st v1alpha1.ControllerStatus
	if err := json.Unmarshal([]byte(get("/api/v1/status")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Version == nil || *st.Version != *build {
		t.Errorf("/api/v1/status version = %+v, want %+v", st.Version, build)
	}

	cancel()
	readNotify("STOPPING=1")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	saved, err := LoadStatus(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Version == nil || saved.Version.Version != "v9.8.7" {
		t.Errorf("state file version = %+v, want the build that wrote it", saved.Version)
	}
}
