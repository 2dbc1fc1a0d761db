package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/daemon"
	"github.com/optimus-cm/optimus/test/testhost"
)

// startFixed starts n hosts on fixed ports, so a stopped and restarted
// container keeps the address its manifest names.
func startFixed(t *testing.T, n int) []*testhost.Host {
	t.Helper()
	testhost.RequireDocker(t)
	ports := make([]int, n)
	for i := range ports {
		ports[i] = freePort(t)
	}
	prefix := fmt.Sprintf("optimus-test-%d-%s", os.Getpid(), strings.ToLower(t.Name()))
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("%s-%d", prefix, i+1))
	}
	t.Cleanup(func() { _ = testhost.Remove(context.Background(), names...) })
	hosts, err := testhost.Create(context.Background(), testhost.Options{N: n, Prefix: prefix, Ports: ports, KeyDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return hosts
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// controllerProc is a running optimus-controller binary.
type controllerProc struct {
	cmd      *exec.Cmd
	addr     string
	stateDir string
	mu       sync.Mutex
	logs     bytes.Buffer
	done     chan error
}

func (c *controllerProc) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logs.Write(p)
}

func (c *controllerProc) Logs() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logs.String()
}

func startController(t *testing.T, dir string, extra ...string) *controllerProc {
	t.Helper()
	return startControllerIn(t, dir, t.TempDir(), extra...)
}

// startControllerIn starts the controller with a given state directory, to
// restart one where another stopped.
func startControllerIn(t *testing.T, dir, stateDir string, extra ...string) *controllerProc {
	t.Helper()
	c := &controllerProc{addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), stateDir: stateDir, done: make(chan error, 1)}
	args := append([]string{"--watch", dir, "--listen", c.addr, "--state-dir", c.stateDir,
		"--resync", "3s", "--backoff-initial", "1s", "--backoff-max", "3s", "--log-format", "json"}, extra...)
	c.cmd = exec.Command(filepath.Join(bin, "optimus-controller"), args...)
	c.cmd.Stdout, c.cmd.Stderr = c, c
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		<-c.done
		if t.Failed() {
			t.Logf("controller logs:\n%s", c.Logs())
		}
	})
	return c
}

func (c *controllerProc) status(t *testing.T) *v1alpha1.ControllerStatus {
	t.Helper()
	resp, err := http.Get("http://" + c.addr + "/api/v1/status")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var st v1alpha1.ControllerStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("status: %v", err)
	}
	return &st
}

func hostCondition(st *v1alpha1.ControllerStatus, host, cond string) string {
	if st == nil {
		return ""
	}
	for _, h := range st.Hosts {
		if h.Name == host {
			if c := v1alpha1.FindCondition(h.Conditions, cond); c != nil {
				return string(c.Status)
			}
		}
	}
	return ""
}

// eventually polls cond every 100ms until it holds or within passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("not within %s: %s", within, what)
	return 0
}

func TestController(t *testing.T) {
	hosts := startFixed(t, 2)
	dir := t.TempDir()
	hostsManifest(t, dir, hosts) // hosts[1] is role=web
	writeFile(t, filepath.Join(dir, "alice.yaml"), "apiVersion: optimus.dev/v1alpha1\nkind: User\nmetadata: {name: alice}\nspec: {shell: /bin/bash}\n")
	c := startController(t, dir)

	eventually(t, 60*time.Second, "/readyz answers 200", func() bool {
		resp, err := http.Get("http://" + c.addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	for _, h := range hosts {
		if !users(t, h)["alice"] {
			t.Fatalf("alice missing on %s after the first pass", h.Name)
		}
		if got := hostCondition(c.status(t), h.Name, v1alpha1.ConditionReady); got != "True" {
			t.Errorf("%s Ready = %q", h.Name, got)
		}
	}

	t.Run("a new manifest is applied within 5s of the write", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, "bob.yaml"), "apiVersion: optimus.dev/v1alpha1\nkind: User\nmetadata: {name: bob}\n"+
			"spec: {shell: /bin/bash, hostSelector: {matchLabels: {role: web}}}\n")
		took := eventually(t, 5*time.Second, "bob created on the web host", func() bool { return users(t, hosts[1])["bob"] })
		t.Logf("bob appeared %s after the write", took)
		if users(t, hosts[0])["bob"] {
			t.Error("bob created on a host the selector does not match")
		}
	})

	t.Run("an edit follows, saved the way editors do: temp file renamed over", func(t *testing.T) {
		tmp := filepath.Join(dir, ".bob.yaml.swp")
		writeFile(t, tmp, "apiVersion: optimus.dev/v1alpha1\nkind: User\nmetadata: {name: bob}\n"+
			"spec: {shell: /bin/sh, hostSelector: {matchLabels: {role: web}}}\n")
		if err := os.Rename(tmp, filepath.Join(dir, "bob.yaml")); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "bob's shell changed", func() bool {
			return strings.TrimSpace(hosts[1].Exec(t, "getent passwd bob | cut -d: -f7")) == "/bin/sh"
		})
	})

	t.Run("an invalid change is reported and the last valid set keeps running", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, "broken.yaml"), "apiVersion: optimus.dev/v1alpha1\nkind: User\nmetadata: {name: eve}\nspec: {shel: /bin/sh}\n")
		eventually(t, 5*time.Second, "ConfigValid=False naming the file and line", func() bool {
			st := c.status(t)
			if st == nil {
				return false
			}
			cv := v1alpha1.FindCondition(st.Conditions, v1alpha1.ConditionConfigValid)
			return cv != nil && cv.Status == "False" && strings.Contains(cv.Message, "broken.yaml:4")
		})
		hosts[0].Exec(t, "userdel alice")
		eventually(t, 10*time.Second, "drift corrected with the last valid set", func() bool { return users(t, hosts[0])["alice"] })
		if users(t, hosts[0])["eve"] {
			t.Error("the invalid manifest was applied")
		}
		if err := os.Remove(filepath.Join(dir, "broken.yaml")); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "ConfigValid=True again", func() bool {
			st := c.status(t)
			cv := v1alpha1.FindCondition(st.Conditions, v1alpha1.ConditionConfigValid)
			return cv != nil && cv.Status == "True"
		})
	})

	t.Run("a stopped host is quarantined, the other follows changes, and it recovers", func(t *testing.T) {
		hosts[0].Stop(t)
		eventually(t, 20*time.Second, hosts[0].Name+" Quarantined", func() bool {
			return hostCondition(c.status(t), hosts[0].Name, v1alpha1.ConditionQuarantined) == "True"
		})
		if got := hostCondition(c.status(t), hosts[1].Name, v1alpha1.ConditionReady); got != "True" {
			t.Errorf("the healthy host's Ready = %q while the other is quarantined", got)
		}
		// In a directory created now: the watch must follow new subdirectories.
		if err := os.Mkdir(filepath.Join(dir, "team"), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "team", "carol.yaml"), "apiVersion: optimus.dev/v1alpha1\nkind: User\nmetadata: {name: carol}\nspec: {}\n")
		eventually(t, 5*time.Second, "carol created on the healthy host", func() bool { return users(t, hosts[1])["carol"] })

		hosts[0].Start(t)
		eventually(t, 20*time.Second, hosts[0].Name+" Ready again and converged", func() bool {
			return hostCondition(c.status(t), hosts[0].Name, v1alpha1.ConditionReady) == "True" && users(t, hosts[0])["carol"]
		})
	})

	t.Run("get and describe read the status", func(t *testing.T) {
		out, err := exec.Command(filepath.Join(bin, "optimus"), "get", "hosts", "--controller", c.addr).CombinedOutput()
		if err != nil || !strings.Contains(string(out), hosts[0].Name) || !strings.Contains(string(out), "True") {
			t.Errorf("get hosts: %v\n%s", err, out)
		}
		out, err = exec.Command(filepath.Join(bin, "optimus"), "get", "resources", "--controller", c.addr).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "User") || !strings.Contains(string(out), "carol") {
			t.Errorf("get resources: %v\n%s", err, out)
		}
		out, err = exec.Command(filepath.Join(bin, "optimus"), "describe", "host", hosts[1].Name, "--controller", c.addr).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Quarantined") || !strings.Contains(string(out), "User/bob") {
			t.Errorf("describe host: %v\n%s", err, out)
		}
		resp, err := http.Get("http://" + c.addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		resp.Body.Close()
		for _, m := range []string{"optimus_reconciles_total{result=\"converged\"}", "optimus_reconcile_duration_seconds_bucket",
			"optimus_hosts{state=\"ready\"} 2", "optimus_drift_corrections_total", "optimus_queue_depth"} {
			if !strings.Contains(b.String(), m) {
				t.Errorf("metrics lack %s", m)
			}
		}
	})

	t.Run("SIGTERM saves status and exits 0; a restart keeps it", func(t *testing.T) {
		if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-c.done:
			c.done <- err // for the cleanup
			if err != nil {
				t.Fatalf("exit after SIGTERM: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no exit within 30s of SIGTERM")
		}
		st, err := daemon.LoadStatus(c.stateDir)
		if err != nil {
			t.Fatal(err)
		}
		if hostCondition(st, hosts[1].Name, v1alpha1.ConditionReady) != "True" {
			t.Errorf("saved status lost the hosts' conditions: %+v", st.Hosts)
		}
		out, err := exec.Command(filepath.Join(bin, "optimus"), "get", "hosts", "--state-dir", c.stateDir).CombinedOutput()
		if err != nil || !strings.Contains(string(out), hosts[1].Name) {
			t.Errorf("get hosts --state-dir: %v\n%s", err, out)
		}
	})
}
