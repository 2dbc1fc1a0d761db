package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/etcdtest"
)

// rolloutOf reads a controller's /api/v1/rollout; nil when it serves none.
func rolloutOf(addr string) *v1alpha1.RolloutStatus {
	resp, err := http.Get("http://" + addr + "/api/v1/rollout")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var ro v1alpha1.RolloutStatus
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&ro) != nil {
		return nil
	}
	return &ro
}

// kill9 kills a controller with SIGKILL, as a crash or the OOM killer
// would, and waits for it to be gone.
func (c *controllerProc) kill9(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err := <-c.done
	c.done <- err // for the cleanup's wait
}

// configs reads hN's configuration for each n.
func (f *rolloutFleet) configs(t *testing.T, ns ...int) map[int]string {
	out := map[int]string{}
	for _, n := range ns {
		out[n], _ = f.config(t, n)
	}
	return out
}

// TestHaltedRolloutSurvivesKill9: a controller whose rollout halted in
// batch 2 is killed with SIGKILL and started again on the same state
// directory. The halt holds: for several resync intervals the hosts of
// batch 3 keep the previous content, drift on one of them is repaired to
// the previous content, and the restarted controller serves the same
// halted rollout.
func TestHaltedRolloutSurvivesKill9(t *testing.T) {
	f := newRolloutFleet(t)
	f.dir, f.extra = t.TempDir(), rolloutPolicy
	f.write(t, "version 1\n")
	c := startController(t, f.dir, "--resync", "2s")
	allReady := func(c *controllerProc) bool {
		st := c.status(t)
		for n := 1; n <= 9; n++ {
			if hostCondition(st, "h"+strconv.Itoa(n), v1alpha1.ConditionReady) != "True" {
				return false
			}
		}
		return true
	}
	eventually(t, 120*time.Second, "all nine hosts Ready on version 1", func() bool { return allReady(c) })

	f.write(t, "version 2\n{{ if index .Host.Labels \"broken\" }}typo\n{{ end }}")
	eventually(t, 90*time.Second, "the rollout halted", func() bool {
		ro := rolloutOf(c.addr)
		return ro != nil && ro.Phase == v1alpha1.RolloutHalted
	})
	before := rolloutOf(c.addr)
	c.kill9(t)
	if _, err := os.Stat(filepath.Join(c.stateDir, "rollout.json")); err != nil {
		t.Fatalf("no rollout state in the state directory: %v", err)
	}

	c2 := startControllerIn(t, f.dir, c.stateDir, "--resync", "2s")
	eventually(t, 30*time.Second, "the restarted controller serves the halted rollout", func() bool {
		ro := rolloutOf(c2.addr)
		return ro != nil && ro.Phase == v1alpha1.RolloutHalted && ro.Generation == before.Generation && ro.Batch == 2 && ro.Failed == 2
	})
	// Three resync intervals of the restarted controller: every host is
	// reconciled again, and the held ones keep version 1.
	eventually(t, 60*time.Second, "every host reconciled again after the restart", func() bool {
		st := c2.status(t)
		for n := 1; n <= 9; n++ {
			h := hostOf(st, "h"+strconv.Itoa(n))
			if h == nil || h.LastRun == nil {
				return false
			}
		}
		return true
	})
	deadline := time.Now().Add(6 * time.Second)
	for time.Now().Before(deadline) {
		for n, conf := range f.configs(t, 5, 6, 7, 8, 9) {
			if conf != "version 1" {
				t.Fatalf("h%d got %q after the restart: the halted rollout went on", n, conf)
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	for n, conf := range f.configs(t, 1, 3) {
		if conf != "version 2" {
			t.Errorf("h%d rolled before the kill, now %q", n, conf)
		}
	}

	// Drift on a held host is repaired to the previous generation.
	f.container(6).Exec(t, "echo tampered >/srv/app-h6.conf")
	eventually(t, 30*time.Second, "drift on a held host corrected to version 1", func() bool {
		conf, _ := f.config(t, 6)
		return conf == "version 1"
	})
	r := run(t, nil, "rollout", "status", "--controller", c2.addr)
	if r.code != 3 || !strings.Contains(r.stdout, "Halted, batch 2 of 3") {
		t.Errorf("optimus rollout status after the restart: want exit 3, halted in batch 2\n%s", r)
	}

	// The fix, after the restart, rolls out canary first from what each
	// host is held to, and completes.
	f.write(t, "version 3\n")
	eventually(t, 120*time.Second, "the fixed rollout complete", func() bool {
		ro := rolloutOf(c2.addr)
		return ro != nil && ro.Generation != before.Generation && ro.Phase == v1alpha1.RolloutComplete && ro.Done == 9
	})
	for n, conf := range f.configs(t, 1, 2, 3, 4, 5, 6, 7, 8, 9) {
		if conf != "version 3" {
			t.Errorf("h%d after the fix: %q", n, conf)
		}
	}
	// Only the snapshot of the current manifests is kept once no host is
	// held to another.
	eventually(t, 10*time.Second, "one manifests snapshot left", func() bool {
		entries, _ := os.ReadDir(filepath.Join(c2.stateDir, "snapshots"))
		return len(entries) == 1
	})
}

func hostOf(st *v1alpha1.ControllerStatus, name string) *v1alpha1.HostStatus {
	if st == nil {
		return nil
	}
	for i := range st.Hosts {
		if st.Hosts[i].Name == name {
			return &st.Hosts[i]
		}
	}
	return nil
}

// mtime is when hN's configuration was last written, by the host's clock,
// in nanoseconds.
func (f *rolloutFleet) mtime(t *testing.T, n int) int64 {
	out := strings.TrimSpace(f.container(n).Exec(t, fmt.Sprintf("stat -c %%.9Y /srv/app-h%d.conf", n)))
	s, frac, _ := strings.Cut(out, ".")
	sec, err1 := strconv.ParseInt(s, 10, 64)
	ns, err2 := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("stat h%d: %q", n, out)
	}
	return sec*1e9 + ns
}

// syncDirs copies the fleet's manifests into each replica's directory,
// each by one rename.
func (f *rolloutFleet) syncDirs(t *testing.T, dirs []string) {
	t.Helper()
	for _, d := range dirs {
		tmp := filepath.Join(d, ".fleet.yaml.tmp")
		writeFile(t, tmp, f.manifests)
		if err := os.Rename(tmp, filepath.Join(d, "fleet.yaml")); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRolloutAcrossReplicas: three replicas share nine hosts whose batches
// span replicas. The canary batch runs first across the fleet, the rollout
// halts when the fleet's budget is spent and every replica serves the same
// halted rollout. Then the replica owning a rolled host and the one owning
// a held host are killed with SIGKILL: after the takeover no rolled host
// goes back and no held host moves forward, and a resume sent to the
// survivor completes the rollout.
func TestRolloutAcrossReplicas(t *testing.T) {
	etcd := etcdtest.StartCluster(t, 3)
	endpoints := strings.Join(etcd.Endpoints(), ",")
	f := newRolloutFleet(t)
	f.extra = rolloutPolicy
	f.write(t, "version 1\n")
	ids := []string{"r1", "r2", "r3"}
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	f.syncDirs(t, dirs)
	replicas := map[string]*controllerProc{}
	for i, id := range ids {
		replicas[id] = startController(t, dirs[i], "--etcd-endpoints", endpoints, "--etcd-prefix", "/ro",
			"--replica-id", id, "--etcd-lease-ttl", leaseTTL.String(), "--resync", "2s")
	}
	statusOf := func(ids ...string) *v1alpha1.ControllerStatus {
		for _, id := range ids {
			if st := replicas[id].status(t); st != nil && len(st.Hosts) == 9 {
				return st
			}
		}
		return nil
	}
	eventually(t, 120*time.Second, "all nine hosts Ready on version 1", func() bool {
		st := statusOf(ids...)
		for n := 1; n <= 9; n++ {
			if hostCondition(st, "h"+strconv.Itoa(n), v1alpha1.ConditionReady) != "True" {
				return false
			}
		}
		return len(owners(st)) == 9
	})
	own := owners(statusOf(ids...))
	t.Logf("owners: %v", own)

	f.write(t, "version 2\n{{ if index .Host.Labels \"broken\" }}typo\n{{ end }}")
	f.syncDirs(t, dirs)
	eventually(t, 120*time.Second, "every replica serves the same halted rollout", func() bool {
		var gen string
		for _, id := range ids {
			ro := rolloutOf(replicas[id].addr)
			if ro == nil || ro.Phase != v1alpha1.RolloutHalted || ro.Batch != 2 || ro.Failed != 2 || (gen != "" && ro.Generation != gen) {
				return false
			}
			gen = ro.Generation
		}
		return true
	})
	confs := f.configs(t, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	for n, want := range map[int]string{1: "version 2", 2: "version 2\ntypo", 3: "version 2", 4: "version 2\ntypo",
		5: "version 1", 6: "version 1", 7: "version 1", 8: "version 1", 9: "version 1"} {
		if confs[n] != want {
			t.Errorf("h%d after the halt: %q, want %q", n, confs[n], want)
		}
	}
	// Checked on the hosts: the second batch was written after the canary.
	canary := f.mtime(t, 1)
	for _, n := range []int{2, 3, 4} {
		if m := f.mtime(t, n); m <= canary {
			t.Errorf("h%d (batch 2) was written at %d, before the canary h1 at %d", n, m, canary)
		}
	}

	// Kill the owner of a rolled host and the owner of a held host.
	victims := map[string]bool{own["h1"]: true}
	for n := 5; n <= 9; n++ {
		if o := own["h"+strconv.Itoa(n)]; o != own["h1"] {
			victims[o] = true
			break
		}
	}
	var survivor string
	for _, id := range ids {
		if victims[id] {
			replicas[id].kill9(t)
		} else if survivor == "" {
			survivor = id
		}
	}
	t.Logf("killed %v; %s survives", victims, survivor)
	var seen map[string]string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("owners last seen by %s: %v", survivor, seen)
		}
	})
	eventually(t, 60*time.Second, "the survivor owns every host", func() bool {
		st := replicas[survivor].status(t)
		o := owners(st)
		seen = o
		if len(o) != 9 {
			return false
		}
		for _, id := range o {
			if id != survivor {
				return false
			}
		}
		return true
	})
	// Two resync intervals of the survivor after the takeover.
	deadline := time.Now().Add(3 * leaseTTL)
	for time.Now().Before(deadline) {
		confs := f.configs(t, 1, 3, 5, 6, 7, 8, 9)
		for _, n := range []int{1, 3} {
			if confs[n] != "version 2" {
				t.Fatalf("rolled host h%d went back to %q after the takeover", n, confs[n])
			}
		}
		for _, n := range []int{5, 6, 7, 8, 9} {
			if confs[n] != "version 1" {
				t.Fatalf("held host h%d moved to %q after the takeover", n, confs[n])
			}
		}
		time.Sleep(500 * time.Millisecond)
	}

	req, _ := http.NewRequest(http.MethodPost, "http://"+replicas[survivor].addr+"/api/v1/rollout/resume", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("resume on %s: %d %s", survivor, resp.StatusCode, body)
	}
	eventually(t, 120*time.Second, "the resumed rollout complete", func() bool {
		ro := rolloutOf(replicas[survivor].addr)
		return ro != nil && ro.Phase == v1alpha1.RolloutComplete
	})
	for n, conf := range f.configs(t, 5, 6, 7, 8, 9) {
		if conf != "version 2" {
			t.Errorf("h%d after the resume: %q", n, conf)
		}
	}
}
