package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/cluster"
	"github.com/optimus-cm/optimus/internal/etcdtest"
	"github.com/optimus-cm/optimus/test/testhost"
)

const (
	replicaHostCount = 30
	leaseTTL         = 5 * time.Second
)

// replicaHost is one of the 30 Host resources; several share a container,
// each with its own files.
type replicaHost struct {
	name string
	th   *testhost.Host
}

func (h replicaHost) trigger() string { return "/var/tmp/optimus-trigger-" + h.name }
func (h replicaHost) audit() string   { return "/var/tmp/optimus-audit-" + h.name }

// replicaManifests writes 30 Hosts and, per host, a File (the trigger the
// test drifts) and an Exec run whenever the File changed: it appends
// "replica start end" to the host's audit file, taking a moment, so that
// two replicas acting at once would leave overlapping intervals.
func replicaManifests(t *testing.T, dir string, hosts []replicaHost, content string) {
	t.Helper()
	var b strings.Builder
	for _, h := range hosts {
		fmt.Fprintf(&b, `---
apiVersion: optimus.dev/v1alpha1
kind: Host
metadata:
  name: %[1]s
  labels: {fleet: %[1]s}
spec:
  address: 127.0.0.1
  port: %[2]d
  privateKeyFile: %[3]s
  hostKey: {knownHostsFile: %[4]s}
  connectTimeout: %[8]s
---
apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: trigger-%[1]s}
spec:
  hostSelector: {matchLabels: {fleet: %[1]s}}
  path: %[5]s
  content: "%[7]s\n"
---
apiVersion: optimus.dev/v1alpha1
kind: Exec
metadata: {name: audit-%[1]s}
spec:
  hostSelector: {matchLabels: {fleet: %[1]s}}
  refreshOnly: true
  restartOn: [{kind: File, name: trigger-%[1]s}]
  command: 's=$(date +%%s.%%N); sleep 0.3; echo "$OPTIMUS_REPLICA $s $(date +%%s.%%N)" >> %[6]s'
`, h.name, h.th.Port, h.th.KeyFile, h.th.KnownHostsFile, h.trigger(), h.audit(), content, connectTimeout)
	}
	writeFile(t, filepath.Join(dir, "fleet.yaml"), b.String())
}

type auditLine struct {
	replica    string
	start, end float64
}

// audits reads every host's audit file in one docker exec per container.
func audits(t *testing.T, hosts []replicaHost) map[string][]auditLine {
	t.Helper()
	out := map[string][]auditLine{}
	byContainer := map[*testhost.Host][]replicaHost{}
	for _, h := range hosts {
		byContainer[h.th] = append(byContainer[h.th], h)
	}
	for th, hs := range byContainer {
		var script strings.Builder
		for _, h := range hs {
			fmt.Fprintf(&script, "echo '#%s'; cat %s 2>/dev/null; ", h.name, h.audit())
		}
		script.WriteString("true")
		var cur string
		for _, line := range strings.Split(th.Exec(t, script.String()), "\n") {
			if strings.HasPrefix(line, "#") {
				cur = line[1:]
				continue
			}
			f := strings.Fields(line)
			if len(f) != 3 {
				continue
			}
			s, err1 := strconv.ParseFloat(f[1], 64)
			e, err2 := strconv.ParseFloat(f[2], 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("audit line on %s: %q", cur, line)
			}
			out[cur] = append(out[cur], auditLine{f[0], s, e})
		}
	}
	return out
}

// noOverlap fails the test when two acts on one host overlapped in time.
func noOverlap(t *testing.T, all map[string][]auditLine) {
	t.Helper()
	for host, lines := range all {
		sort.Slice(lines, func(i, j int) bool { return lines[i].start < lines[j].start })
		for i := 1; i < len(lines); i++ {
			if lines[i].start < lines[i-1].end {
				t.Errorf("host %s: %s acted %.3f-%.3f while %s acted %.3f-%.3f", host,
					lines[i].replica, lines[i].start, lines[i].end, lines[i-1].replica, lines[i-1].start, lines[i-1].end)
			}
		}
	}
}

func hostConditionFull(st *v1alpha1.ControllerStatus, host, cond string) *v1alpha1.Condition {
	if st == nil {
		return nil
	}
	for _, h := range st.Hosts {
		if h.Name == host {
			return v1alpha1.FindCondition(h.Conditions, cond)
		}
	}
	return nil
}

func replicaCondition(st *v1alpha1.ControllerStatus) (status, reason, msg string) {
	if st == nil {
		return "", "", ""
	}
	c := v1alpha1.FindCondition(st.Conditions, v1alpha1.ConditionReplica)
	if c == nil {
		return "", "", ""
	}
	return string(c.Status), c.Reason, c.Message
}

// owners maps host -> replica from a replica's fleet status.
func owners(st *v1alpha1.ControllerStatus) map[string]string {
	o := map[string]string{}
	if st == nil {
		return o
	}
	for _, h := range st.Hosts {
		if h.Replica != "" {
			o[h.Name] = h.Replica
		}
	}
	return o
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dst, e.Name()), string(b))
	}
	return dst
}

// TestReplicasShareTheFleet runs three optimus-controller replicas against a
// three-member etcd cluster and 30 hosts, then takes things away one at a
// time: a replica with other manifests, a SIGKILLed replica, one etcd
// member, a SIGSTOPped replica, all of etcd. After every step each audit
// file shows acts by one replica at a time.
func TestReplicasShareTheFleet(t *testing.T) {
	etcd := etcdtest.StartCluster(t, 3)
	endpoints := strings.Join(etcd.Endpoints(), ",")
	containers := testhost.Start(t, 3)
	var hosts []replicaHost
	for i := range replicaHostCount {
		hosts = append(hosts, replicaHost{name: fmt.Sprintf("h%02d", i+1), th: containers[i%3]})
	}
	src := t.TempDir()
	replicaManifests(t, src, hosts, "v1")
	start := func(id, dir string) *controllerProc {
		return startController(t, dir, "--etcd-endpoints", endpoints, "--etcd-prefix", "/e2e",
			"--replica-id", id, "--etcd-lease-ttl", leaseTTL.String(), "--resync", "2s")
	}
	replicas := map[string]*controllerProc{}
	for _, id := range []string{"r1", "r2", "r3"} {
		replicas[id] = start(id, copyDir(t, src))
	}
	anyStatus := func(ids ...string) *v1alpha1.ControllerStatus {
		for _, id := range ids {
			if st := replicas[id].status(t); st != nil {
				return st
			}
		}
		return nil
	}

	// Every host is reconciled by exactly one replica, its owner.
	var own map[string]string
	var seen string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last seen: %s", seen)
		}
	})
	// The deadlines of this test only bound how long a failure takes to
	// show: three replicas, three etcd members and three hosts on two
	// loaded cores took more than 90 s to converge 30 hosts (issue 27).
	took := eventually(t, 5*time.Minute, "30 hosts acted on once each, by their owners", func() bool {
		a := audits(t, hosts)
		own = owners(anyStatus("r1", "r2", "r3"))
		seen = fmt.Sprintf("owners %v audits %v", own, a)
		if len(own) != replicaHostCount {
			return false
		}
		for _, h := range hosts {
			if len(a[h.name]) != 1 || a[h.name][0].replica != own[h.name] {
				return false
			}
		}
		return true
	})
	t.Logf("three replicas converged 30 hosts in %s", took.Round(time.Millisecond))
	share := map[string]int{}
	for _, id := range own {
		share[id]++
	}
	bound := cluster.LoadBound(replicaHostCount, 3, cluster.DefaultLoadFactor)
	for id, n := range share {
		if n > bound {
			t.Errorf("%s owns %d hosts; bound %d", id, n, bound)
		}
	}
	t.Logf("shares: %v (bound %d)", share, bound)
	noOverlap(t, audits(t, hosts))

	// Any replica shows the whole fleet with each host's owner, and the replicas.
	out, err := exec.Command(filepath.Join(bin, "optimus"), "get", "hosts", "--controller", replicas["r2"].addr).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "REPLICA") {
		t.Fatalf("optimus get hosts: %v\n%s", err, out)
	}
	for _, h := range hosts {
		if !regexp.MustCompile(`(?m)^` + h.name + `\s.*\s` + own[h.name] + `\s*$`).Match(out) {
			t.Fatalf("optimus get hosts does not show %s owned by %s:\n%s", h.name, own[h.name], out)
		}
	}
	out, err = exec.Command(filepath.Join(bin, "optimus"), "get", "replicas", "--controller", replicas["r1"].addr).CombinedOutput()
	if err != nil {
		t.Fatalf("optimus get replicas: %v\n%s", err, out)
	}
	for id, n := range share {
		if !regexp.MustCompile(`(?m)^` + id + `\s+` + strconv.Itoa(n) + `\s+\d+s\s+\d+s\s+true\s`).Match(out) {
			t.Fatalf("optimus get replicas does not list %s with %d hosts:\n%s", id, n, out)
		}
	}
	t.Logf("optimus get replicas:\n%s", out)

	// A replica with a different copy of the manifests acts on nothing.
	other := t.TempDir()
	replicaManifests(t, other, hosts, "v2")
	replicas["r4"] = start("r4", other)
	eventually(t, 2*time.Minute, "r4 reports ConfigOutOfSync with both digests", func() bool {
		status, reason, msg := replicaCondition(replicas["r4"].status(t))
		return status == "False" && reason == string(cluster.StateConfigOutOfSync) && strings.Count(msg, "digest") >= 1 && strings.Contains(msg, "agreed")
	})
	_, _, msg := replicaCondition(replicas["r4"].status(t))
	t.Logf("r4: %s", msg)
	time.Sleep(2 * leaseTTL)
	for _, h := range hosts[:3] {
		if got := strings.TrimSpace(h.th.Exec(t, "cat "+h.trigger())); got != "v1" {
			t.Fatalf("%s: trigger %q: the out-of-sync replica acted", h.name, got)
		}
	}
	for host, lines := range audits(t, hosts) {
		for _, l := range lines {
			if l.replica == "r4" {
				t.Fatalf("out-of-sync r4 acted on %s", host)
			}
		}
	}
	for _, r := range replicas["r2"].status(t).Replicas {
		if r.ID == "r4" && (r.InSync || r.Hosts != 0) {
			t.Fatalf("r4 listed as %+v", r)
		}
	}
	_ = replicas["r4"].cmd.Process.Kill()
	<-replicas["r4"].done
	replicas["r4"].done <- nil // the cleanup waits on it

	// kill -9: r1's hosts are taken over, and a drift made meanwhile on one
	// of them is corrected, within 2 × TTL.
	var victim replicaHost
	for _, h := range hosts {
		if own[h.name] == "r1" {
			victim = h
			break
		}
	}
	before := len(audits(t, hosts)[victim.name])
	_ = replicas["r1"].cmd.Process.Signal(syscall.SIGKILL)
	killed := time.Now()
	victim.th.Exec(t, "rm -f "+victim.trigger())
	var corrected float64
	eventually(t, 4*leaseTTL, "r1's hosts taken over and the drift corrected", func() bool {
		o := owners(anyStatus("r2", "r3"))
		for h, id := range own {
			if id == "r1" && (o[h] == "" || o[h] == "r1") {
				return false
			}
		}
		a := audits(t, hosts)[victim.name]
		if len(a) == before+1 && a[len(a)-1].replica != "r1" {
			corrected = a[len(a)-1].end
			return true
		}
		return false
	})
	// The containers share this machine's clock: the act's own end time
	// says when the drift was corrected, free of this test's polling.
	took = time.Unix(0, int64(corrected*1e9)).Sub(killed)
	t.Logf("kill -9: drift on a taken-over host corrected %s after the kill (2 × TTL = %s)", took.Round(time.Millisecond), 2*leaseTTL)
	// The figure is reported, not asserted: on a starved machine a live
	// takeover can take longer, and timing belongs in benchmarks.
	if took > 2*leaseTTL {
		t.Logf("takeover took %s, more than 2 × TTL (load?)", took)
	}
	noOverlap(t, audits(t, hosts))

	// One etcd member of three stops: the replicas go on.
	etcd.Members[0].Stop()
	own = owners(anyStatus("r2", "r3"))
	victim = hosts[1]
	before = len(audits(t, hosts)[victim.name])
	victim.th.Exec(t, "rm -f "+victim.trigger())
	eventually(t, 2*time.Minute, "drift corrected with one etcd member down", func() bool {
		a := audits(t, hosts)[victim.name]
		return len(a) == before+1
	})
	if err := etcd.Members[0].Start(); err != nil {
		t.Fatal(err)
	}

	// kill -STOP r2 for longer than its TTL: its hosts move; after -CONT
	// it does not act on them, rejoins and gets a bounded share back.
	own = owners(anyStatus("r2", "r3"))
	for _, h := range hosts {
		if own[h.name] == "r2" {
			victim = h
			break
		}
	}
	before = len(audits(t, hosts)[victim.name])
	_ = replicas["r2"].cmd.Process.Signal(syscall.SIGSTOP)
	victim.th.Exec(t, "rm -f "+victim.trigger())
	eventually(t, 6*leaseTTL, "r3 takes over from the stopped r2 and corrects the drift", func() bool {
		a := audits(t, hosts)[victim.name]
		return len(a) == before+1 && a[len(a)-1].replica == "r3"
	})
	time.Sleep(leaseTTL)
	_ = replicas["r2"].cmd.Process.Signal(syscall.SIGCONT)
	eventually(t, 2*time.Minute, "r2 rejoins with a bounded share", func() bool {
		st := replicas["r3"].status(t)
		share := map[string]int{}
		for _, id := range owners(st) {
			share[id]++
		}
		b := cluster.LoadBound(replicaHostCount, 2, cluster.DefaultLoadFactor)
		seen = fmt.Sprintf("shares after SIGCONT %v (bound %d)", share, b)
		return share["r2"] > 0 && share["r2"] <= b && share["r3"] <= b && share["r2"]+share["r3"] == replicaHostCount
	})
	t.Log(seen)
	noOverlap(t, audits(t, hosts))

	// etcd entirely down: nobody acts, everybody says EtcdUnavailable, and
	// a drift stays until etcd is back.
	for _, m := range etcd.Members {
		m.Stop()
	}
	for _, id := range []string{"r2", "r3"} {
		eventually(t, 3*leaseTTL, id+" reports EtcdUnavailable", func() bool {
			status, reason, _ := replicaCondition(replicas[id].status(t))
			return status == "False" && reason == string(cluster.StateEtcdUnavailable)
		})
	}
	victim = hosts[2]
	owner := owners(replicas["r3"].status(t))[victim.name]
	before = len(audits(t, hosts)[victim.name])
	victim.th.Exec(t, "rm -f "+victim.trigger())
	// Its last owner keeps observing it and reports the drift it may not fix.
	if owner != "" {
		eventually(t, 6*leaseTTL, owner+" reports the drift it observes without acting", func() bool {
			c := hostConditionFull(replicas[owner].status(t), victim.name, v1alpha1.ConditionReady)
			return c != nil && c.Status == v1alpha1.ConditionFalse && c.Reason == string(cluster.StateEtcdUnavailable)
		})
	}
	time.Sleep(leaseTTL)
	if got := victim.th.Exec(t, "test -e "+victim.trigger()+" && echo present || echo absent"); strings.TrimSpace(got) != "absent" {
		t.Fatalf("a replica acted on %s with etcd down", victim.name)
	}
	if n := len(audits(t, hosts)[victim.name]); n != before {
		t.Fatalf("audit of %s grew with etcd down", victim.name)
	}
	for _, m := range etcd.Members {
		if err := m.Start(); err != nil {
			t.Fatal(err)
		}
	}
	took = eventually(t, 3*time.Minute, "replicas resume and correct the drift", func() bool {
		a := audits(t, hosts)[victim.name]
		return len(a) == before+1
	})
	t.Logf("etcd back: drift corrected %s after its members started", took.Round(time.Millisecond))
	noOverlap(t, audits(t, hosts))
}
