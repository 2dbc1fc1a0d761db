package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/daemon"
	"github.com/optimus-cm/optimus/test/testhost"
)

// fleetManifests writes a HostGroup of n members spread over the test
// containers (distinct names, shared sshds), each with a File of its own
// path, plus dead members on a port where nothing listens.
func fleetManifests(t *testing.T, dir string, containers []*testhost.Host, n int, deadPorts []int, content func(i int) string) {
	t.Helper()
	var g strings.Builder
	fmt.Fprintf(&g, `apiVersion: optimus.dev/v1alpha1
kind: HostGroup
metadata: {name: fleet}
spec:
  template:
    metadata: {labels: {fleet: "yes"}}
    spec:
      privateKeyFile: %s
      hostKey: {knownHostsFile: %s}
      connectTimeout: 30s # the test sshds share two busy cores
  members:
`, containers[0].KeyFile, containers[0].KnownHostsFile)
	for i := range n {
		fmt.Fprintf(&g, "  - {name: h%03d, address: \"127.0.0.1:%d\"}\n", i, containers[i%len(containers)].Port)
	}
	for i, port := range deadPorts {
		fmt.Fprintf(&g, "  - {name: dead%d, address: \"127.0.0.1:%d\", labels: {dead: \"yes\"}}\n", i, port)
	}
	writeFile(t, filepath.Join(dir, "fleet.yaml"), g.String())
	var f strings.Builder
	f.WriteString("apiVersion: optimus.dev/v1alpha1\nkind: Directory\nmetadata: {name: fleet}\nspec: {path: /tmp/fleet}\n")
	for i := range n {
		fmt.Fprintf(&f, `---
apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: f%03d}
spec:
  hostSelector: {matchLabels: {optimus.dev/host: h%03d}}
  path: /tmp/fleet/h%03d
  content: %q
`, i, i, i, content(i))
	}
	writeFile(t, filepath.Join(dir, "files.yaml"), f.String())
}

// metric reads one series of the controller's /metrics.
func (c *controllerProc) metric(name string) float64 {
	resp, err := http.Get("http://" + c.addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}

func countReady(st *v1alpha1.ControllerStatus) (ready, quarantined int) {
	if st == nil {
		return 0, 0
	}
	for _, h := range st.Hosts {
		switch {
		case isTrueCond(h.Conditions, v1alpha1.ConditionReady):
			ready++
		case isTrueCond(h.Conditions, v1alpha1.ConditionQuarantined):
			quarantined++
		}
	}
	return ready, quarantined
}

func isTrueCond(conds []v1alpha1.Condition, t string) bool {
	c := v1alpha1.FindCondition(conds, t)
	return c != nil && c.Status == v1alpha1.ConditionTrue
}

// TestControllerFleet runs the controller over 200 Hosts stamped out by a
// HostGroup on three containers: the first pass makes every host Ready, a
// change to one host's File jumps ahead of a running resync, SIGTERM saves
// an intact status, and a restart keeps status and the dead hosts' backoff.
func TestControllerFleet(t *testing.T) {
	const n, dead = 200, 4
	containers := testhost.Start(t, 3)
	dir := t.TempDir()
	deadPorts := make([]int, dead)
	for i := range deadPorts {
		deadPorts[i] = freePort(t)
	}
	fleetManifests(t, dir, containers, n, deadPorts, func(int) string { return "v1\n" })
	// A long backoff, so that the restart below can show it is kept.
	c := startController(t, dir, "--resync", "4s", "--backoff-initial", "2m", "--backoff-max", "10m")

	took := eventually(t, 3*time.Minute, "every live host Ready, the dead ones quarantined", func() bool {
		ready, quarantined := countReady(c.status(t))
		return ready == n && quarantined == dead
	})
	t.Logf("first pass: %d hosts Ready after %s", n, took)
	for i, ct := range containers {
		// Each container holds the files of the hosts that point at it.
		got := strings.Fields(ct.Exec(t, "ls /tmp/fleet | wc -l; cat /tmp/fleet/h00"+strconv.Itoa(i)))
		if len(got) != 2 || got[1] != "v1" {
			t.Fatalf("container %d: %v", i, got)
		}
	}

	t.Run("a change to one host is applied ahead of a running resync", func(t *testing.T) {
		eventually(t, 30*time.Second, "a resync pass under way (many hosts queued)", func() bool {
			return c.metric("optimus_queue_depth") >= n/4
		})
		queued := c.metric("optimus_queue_depth")
		start := time.Now()
		fleetManifests(t, dir, containers, n, deadPorts, func(i int) string {
			if i == 137 {
				return "v2\n"
			}
			return "v1\n"
		})
		target := containers[137%len(containers)]
		eventually(t, 30*time.Second, "h137's file rewritten", func() bool {
			return strings.TrimSpace(target.Exec(t, "cat /tmp/fleet/h137")) == "v2"
		})
		t.Logf("change to h137 applied %s after the write, with %.0f hosts queued for resync when it was written", time.Since(start).Round(time.Millisecond), queued)
		if got := strings.TrimSpace(containers[136%3].Exec(t, "cat /tmp/fleet/h136")); got != "v1" {
			t.Errorf("another host's file changed: %q", got)
		}
	})

	var saved *v1alpha1.ControllerStatus
	t.Run("SIGTERM exits 0 and leaves an intact status file", func(t *testing.T) {
		if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-c.done:
			c.done <- err
			if err != nil {
				t.Fatalf("exit after SIGTERM: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("no exit within the grace period")
		}
		st, err := daemon.LoadStatus(c.stateDir)
		if err != nil {
			t.Fatal(err)
		}
		if ready, quarantined := countReady(st); ready != n || quarantined != dead || len(st.Resources) != n+1 {
			t.Fatalf("saved status: %d Ready, %d quarantined, %d resources", ready, quarantined, len(st.Resources))
		}
		saved = st
	})

	t.Run("a restart keeps status and the saved backoff", func(t *testing.T) {
		if saved == nil {
			t.Skip("no saved status")
		}
		c2 := startControllerIn(t, dir, c.stateDir, "--resync", "1h", "--backoff-initial", "2m", "--backoff-max", "10m")
		var first *v1alpha1.ControllerStatus
		eventually(t, 10*time.Second, "the restarted controller answers", func() bool { first = c2.status(t); return first != nil })
		if ready, quarantined := countReady(first); ready != n || quarantined != dead {
			t.Errorf("first answer after restart: %d Ready, %d quarantined; want the saved %d and %d", ready, quarantined, n, dead)
		}
		eventually(t, 3*time.Minute, "first pass after restart done (/readyz)", func() bool {
			resp, err := http.Get("http://" + c2.addr + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200
		})
		after := c2.status(t)
		for _, h := range saved.Hosts {
			if !strings.HasPrefix(h.Name, "dead") {
				continue
			}
			var now *v1alpha1.HostStatus
			for i := range after.Hosts {
				if after.Hosts[i].Name == h.Name {
					now = &after.Hosts[i]
				}
			}
			if now == nil || now.Failures != h.Failures || now.NextRetry == nil || !now.NextRetry.Equal(*h.NextRetry) {
				t.Errorf("%s: saved failures %d next retry %v; after restart %+v (retried at once instead of keeping its backoff)", h.Name, h.Failures, h.NextRetry, now)
			}
		}
		if !strings.Contains(c2.Logs(), "keeping the saved backoff") {
			t.Error("the restarted controller does not say it kept the saved backoff")
		}
	})
}
