package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/etcdtest"
)

// replicaOptions are the replica mode's flags.
type replicaOptions struct {
	hosts, replicas, perHost, maxHosts int
	leaseTTL, resync                   time.Duration
	jsonPath                           string
}

// replicaRun is one run of the replica mode: the fleet, etcd, the
// replicas, and the result filled in step by step.
type replicaRun struct {
	b        *bench
	o        replicaOptions
	fh       fleetHosts
	dir      string // the manifests every replica watches
	etcdURL  string
	replicas []*benchReplica
	r        ReplicasResult
}

// replicaMode runs the replica benchmark: one etcd member, o.replicas
// optimus-controller processes sharing o.hosts Host resources, then a
// takeover after kill -9 and a rollout across the fleet.
func (b *bench) replicaMode(ctx context.Context, o replicaOptions) error {
	if o.replicas < 2 {
		return fmt.Errorf("-replicas %d: the replica mode needs at least 2 (a takeover needs a survivor)", o.replicas)
	}
	var err error
	if b.work, err = os.MkdirTemp("", "optimus-bench-"); err != nil {
		return err
	}
	run := &replicaRun{b: b, o: o, dir: filepath.Join(b.work, "fleet")}
	run.r = ReplicasResult{Machine: machineFacts(ctx), Hosts: o.hosts, Replicas: o.replicas, PerHost: o.perHost,
		LeaseTTLS: o.leaseTTL.Seconds(), ResyncPeriodS: o.resync.Seconds(), LoadAvg: map[string]string{"start": loadAvg()}}
	bin := filepath.Join(b.work, "optimus-controller")
	logf("building optimus-controller")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/optimus-controller").CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/optimus-controller (run from the repository root): %v\n%s", err, out)
	}
	if run.fh, err = b.controllerFleet(ctx, o.hosts); err != nil {
		return err
	}
	run.r.Containers, run.r.Simulated = len(run.fh.containers), run.fh.simulated
	if err := run.writeManifests(func(int) bool { return false }); err != nil {
		return err
	}
	if err := writeAtomic(run.dir, "rollout.yaml", rolloutPolicyYAML); err != nil {
		return err
	}
	cluster, err := etcdtest.Launch(filepath.Join(b.work, "etcd"), 1)
	if err != nil {
		return err
	}
	defer cluster.Stop()
	run.etcdURL = cluster.Members[0].ClientURL
	defer func() {
		for _, rep := range run.replicas {
			rep.stop(30 * time.Second)
		}
	}()
	for i := range o.replicas {
		if err := run.addReplica(ctx, bin, fmt.Sprintf("r%d", i+1)); err != nil {
			return err
		}
	}
	steps := []struct {
		name string
		step func(context.Context) error
	}{
		{"first pass", run.firstPass}, {"steady state", run.steadyState},
		{"takeover", run.takeover}, {"rejoin", func(ctx context.Context) error { return run.rejoin(ctx, bin) }},
		{"rollout", run.rollout},
	}
	var failed error
	for _, s := range steps {
		if err := s.step(ctx); err != nil {
			// What was measured so far is still printed, with the failure.
			failed = fmt.Errorf("%s: %w\n%s", s.name, err, run.logTails())
			run.r.Notes = append(run.r.Notes, fmt.Sprintf("incomplete: %s: %v", s.name, err))
			break
		}
		run.r.LoadAvg[s.name] = loadAvg()
	}
	run.measureProcs()
	printReplicas(os.Stdout, run.r)
	doc, _ := json.Marshal(run.r)
	fmt.Printf("BENCH-REPLICAS %s\n", doc)
	if o.jsonPath != "" {
		if err := os.WriteFile(o.jsonPath, append(doc, '\n'), 0o644); err != nil {
			return err
		}
	}
	return failed
}

// rolloutPolicyYAML stages a change over the fleet in three batches and
// halts when more than 1% of the hosts fail.
const rolloutPolicyYAML = `apiVersion: optimus.dev/v1alpha1
kind: RolloutPolicy
metadata: {name: fleet}
spec:
  batches: ["1%", "10%", "100%"]
  maxFail: "1%"
`

func (run *replicaRun) writeManifests(changed func(int) bool) error {
	return writeFleetChanged(run.dir, run.fh, run.o.perHost, changed)
}

func (run *replicaRun) addReplica(ctx context.Context, bin, id string) error {
	rep := &benchReplica{id: id, addr: fmt.Sprintf("127.0.0.1:%d", freePort()), logPath: filepath.Join(run.b.work, id+".log")}
	rep.args = []string{"--watch", run.dir, "--listen", rep.addr, "--state-dir", filepath.Join(run.b.work, "state-"+id),
		"--etcd-endpoints", run.etcdURL, "--etcd-prefix", "/bench", "--replica-id", id,
		"--etcd-lease-ttl", run.o.leaseTTL.String(), "--resync", run.o.resync.String(), "--log-level", "warn"}
	if run.o.maxHosts > 0 {
		rep.args = append(rep.args, "--max-concurrent-hosts", strconv.Itoa(run.o.maxHosts))
	}
	if err := rep.start(bin); err != nil {
		return err
	}
	run.replicas = append(run.replicas, rep)
	return waitFor(ctx, time.Minute, func() bool {
		_, err := summaryOf(rep.api())
		return err == nil
	})
}

// live is the replicas that run, in start order.
func (run *replicaRun) live() []*benchReplica {
	var l []*benchReplica
	for _, rep := range run.replicas {
		if rep.running() {
			l = append(l, rep)
		}
	}
	return l
}

// firstPass waits until every host is Ready fleet-wide, then reads each
// replica's share and when its last first reconcile ended.
func (run *replicaRun) firstPass(ctx context.Context) error {
	start := run.replicas[0].started
	n := run.o.hosts
	api := run.replicas[0].api()
	logf("%d replicas on %d hosts (lease TTL %s, resync %s)", run.o.replicas, n, run.o.leaseTTL, run.o.resync)
	last := time.Now()
	// Kept in the result as it fills, so that a run stopped during the
	// first pass still reports the replicas that finished.
	byReplica := map[string]float64{}
	run.r.FirstPassByReplicaS = byReplica
	err := waitEvery(ctx, 90*time.Minute, time.Second, func() bool {
		s, err := summaryOf(api)
		if err != nil {
			return false
		}
		if time.Since(last) > 30*time.Second {
			logf("first pass: %d of %d hosts Ready, load %s", s.Counts.Ready, n, loadAvg())
			last = time.Now()
		}
		run.replicasReady(s, start, byReplica)
		return s.Counts.Ready == n
	})
	if err != nil {
		return err
	}
	run.r.FirstPassS = time.Since(start).Seconds()
	hosts, err := listHosts(api)
	if err != nil {
		return err
	}
	run.r.HostsPerReplica = map[string]int{}
	for _, h := range hosts {
		run.r.HostsPerReplica[h.Replica]++
	}
	for id := range run.r.HostsPerReplica {
		if _, ok := byReplica[id]; !ok {
			byReplica[id] = run.r.FirstPassS
		}
	}
	logf("first pass: every host Ready after %.1fs; hosts per replica %v", run.r.FirstPassS, run.r.HostsPerReplica)
	return nil
}

// replicasReady notes, for each replica not yet in byReplica, the seconds
// since start when every host it owns was Ready (its own /metrics counts
// the hosts it reconciled).
func (run *replicaRun) replicasReady(s *fleetSummary, start time.Time, byReplica map[string]float64) {
	for _, rep := range s.Replicas {
		if _, done := byReplica[rep.ID]; done || rep.Hosts == 0 || rep.Addr == "" {
			continue
		}
		if metric("http://"+rep.Addr, `optimus_hosts{state="ready"}`) >= float64(rep.Hosts) {
			byReplica[rep.ID] = time.Since(start).Seconds()
		}
	}
}

// steadyState measures etcd over the next resync pass: from every host
// Ready until every host has been reconciled again.
func (run *replicaRun) steadyState(ctx context.Context) error {
	readyAt := time.Now()
	e0, err := sampleEtcd(run.etcdURL)
	if err != nil {
		return err
	}
	api := run.replicas[0].api()
	var hosts []v1alpha1.HostStatus
	err = waitEvery(ctx, 2*run.o.resync+30*time.Minute, 5*time.Second, func() bool {
		hosts, err = listHosts(api)
		return err == nil && passedAfter(hosts, readyAt, nil) == run.o.hosts
	})
	if err != nil {
		return fmt.Errorf("not every host was reconciled again after the first pass: %w", err)
	}
	e1, err := sampleEtcd(run.etcdURL)
	if err != nil {
		return err
	}
	run.r.EtcdSteady = etcdLoad(e0, e1)
	first, last := passWindow(&v1alpha1.ControllerStatus{Hosts: hosts}, readyAt)
	run.r.ResyncPassS = last.Sub(first).Seconds()
	logf("resync pass: %.1fs; etcd %.1f keys/s, %.1f proposals/s, db %.1f MiB", run.r.ResyncPassS,
		run.r.EtcdSteady.KeysPerS, run.r.EtcdSteady.ProposalsPerS, run.r.EtcdSteady.DBMiB)
	return nil
}

// passedAfter counts the hosts (of only, when not nil) whose last
// reconcile started after t and converged.
func passedAfter(hosts []v1alpha1.HostStatus, t time.Time, only func(v1alpha1.HostStatus) bool) int {
	n := 0
	for _, h := range hosts {
		if (only == nil || only(h)) && h.LastRun != nil && h.LastRun.Start.After(t) && h.LastRun.Result == "converged" {
			n++
		}
	}
	return n
}

// takeover kills the replica owning the most hosts with SIGKILL and waits
// until a survivor has reconciled every host it owned.
func (run *replicaRun) takeover(ctx context.Context) error {
	victim := run.replicas[0]
	for _, rep := range run.replicas {
		if run.r.HostsPerReplica[rep.id] > run.r.HostsPerReplica[victim.id] {
			victim = rep
		}
	}
	api := run.replicas[0].api()
	if victim == run.replicas[0] {
		api = run.replicas[1].api()
	}
	hosts, err := listHosts(api)
	if err != nil {
		return err
	}
	owned := map[string]bool{}
	for _, h := range hosts {
		if h.Replica == victim.id {
			owned[h.Name] = true
		}
	}
	e0, err := sampleEtcd(run.etcdURL)
	if err != nil {
		return err
	}
	victim.kill()
	killed := time.Now()
	logf("takeover: killed %s (kill -9), which owned %d hosts", victim.id, len(owned))
	taken := func(h v1alpha1.HostStatus) bool { return owned[h.Name] && h.Replica != victim.id }
	err = waitEvery(ctx, 30*time.Minute, 2*time.Second, func() bool {
		hosts, err = listHosts(api)
		return err == nil && passedAfter(hosts, killed, taken) == len(owned)
	})
	if err != nil {
		return fmt.Errorf("the killed replica's hosts were not all reconciled by a survivor: %w", err)
	}
	e1, err := sampleEtcd(run.etcdURL)
	if err != nil {
		return err
	}
	var done time.Time
	for _, h := range hosts {
		if end := h.LastRun.Start.Add(h.LastRun.Duration); owned[h.Name] && end.After(done) {
			done = end
		}
	}
	t := &run.r.Takeover
	t.Killed, t.Moved, t.S = victim.id, len(owned), done.Sub(killed).Seconds()
	t.TwoTTLS = 2 * run.o.leaseTTL.Seconds()
	frac := float64(len(owned)) / float64(run.o.hosts)
	t.FirstPassShareS, t.ResyncShareS = run.r.FirstPassS*frac, run.r.ResyncPassS*frac
	run.r.EtcdTakeover = etcdLoad(e0, e1)
	logf("takeover: %d hosts reconciled by survivors %.1fs after the kill (2 × TTL %.0fs)", t.Moved, t.S, t.TwoTTLS)
	return nil
}

// rejoin starts the killed replica again under its name, so that the
// rollout runs on every replica, and waits until it holds a share again
// and every host is Ready.
func (run *replicaRun) rejoin(ctx context.Context, bin string) error {
	var victim *benchReplica
	for _, rep := range run.replicas {
		if !rep.running() {
			victim = rep
		}
	}
	if err := victim.start(bin); err != nil {
		return err
	}
	api := run.replicas[0].api()
	return waitEvery(ctx, 30*time.Minute, 2*time.Second, func() bool {
		s, err := summaryOf(api)
		if err != nil || len(s.Replicas) != run.o.replicas || s.Counts.Ready != run.o.hosts {
			return false
		}
		hosts, err := listHosts(api)
		if err != nil {
			return false
		}
		back := func(h v1alpha1.HostStatus) bool { return h.Replica == victim.id }
		for _, r := range s.Replicas {
			if r.ID == victim.id {
				return r.Hosts > 0 && passedAfter(hosts, victim.started, back) == r.Hosts
			}
		}
		return false
	})
}

// rollout changes every host's own file and waits until the fleet's
// rollout is Complete; every replica must serve the same rollout, and a
// sample of hosts must hold the new content.
func (run *replicaRun) rollout(ctx context.Context) error {
	e0, err := sampleEtcd(run.etcdURL)
	if err != nil {
		return err
	}
	before := rolloutOf(run.replicas[0].api())
	if err := run.writeManifests(func(int) bool { return true }); err != nil {
		return err
	}
	wrote := time.Now()
	var ro *v1alpha1.RolloutStatus
	last := time.Now()
	err = waitEvery(ctx, 60*time.Minute, 2*time.Second, func() bool {
		ro = rolloutOf(run.replicas[0].api())
		if ro == nil || (before != nil && ro.Generation == before.Generation) {
			return false
		}
		if time.Since(last) > 30*time.Second {
			logf("rollout: %s batch %d/%d, %d done, %d failed, %d pending", ro.Phase, ro.Batch, ro.Batches, ro.Done, ro.Failed, ro.Pending)
			last = time.Now()
		}
		return ro.Phase == v1alpha1.RolloutComplete || ro.Phase == v1alpha1.RolloutHalted || ro.Phase == v1alpha1.RolloutAborted
	})
	if err != nil {
		return err
	}
	ro0 := *ro
	r := &run.r.Rollout
	r.CompleteS, r.Phase, r.Batches, r.Done, r.Failed = time.Since(wrote).Seconds(), ro.Phase, ro.Batches, ro.Done, ro.Failed
	e1, err := sampleEtcd(run.etcdURL)
	if err != nil {
		return err
	}
	run.r.EtcdRollout = etcdLoad(e0, e1)
	if ro.Phase != v1alpha1.RolloutComplete {
		return fmt.Errorf("the rollout ended %s: %s", ro.Phase, ro.Message)
	}
	r.SameOnEveryReplica = true
	for _, rep := range run.live() {
		if o := rolloutOf(rep.api()); o == nil || o.Generation != ro0.Generation || o.Phase != ro0.Phase || o.Done != ro0.Done {
			r.SameOnEveryReplica = false
			run.r.Notes = append(run.r.Notes, fmt.Sprintf("replica %s serves another rollout: %+v", rep.id, o))
		}
	}
	n := run.o.hosts
	for _, i := range slices.Compact([]int{0, n / 4, n / 2, 3 * n / 4, n - 1}) {
		container, path := run.fh.watched(i)
		out, err := exec.CommandContext(ctx, "docker", "exec", container, "cat", path).Output()
		r.Sampled++
		if err == nil && string(out) == fleetContent(i, true) {
			r.SampledChanged++
		} else {
			run.r.Notes = append(run.r.Notes, fmt.Sprintf("h%04d: %q after the rollout (%v)", i, strings.TrimSpace(string(out)), err))
		}
	}
	logf("rollout: %s after %.1fs, %d done, every replica the same: %v, %d of %d sampled hosts changed",
		ro.Phase, r.CompleteS, ro.Done, r.SameOnEveryReplica, r.SampledChanged, r.Sampled)
	return nil
}

// measureProcs reads each replica's CPU and memory at the end.
func (run *replicaRun) measureProcs() {
	for _, rep := range run.replicas {
		pid := rep.pid()
		if pid == 0 {
			continue
		}
		run.r.Procs = append(run.r.Procs, ReplicaProc{ID: rep.id, CPUS: procCPU(pid).Seconds(), UpS: time.Since(rep.started).Seconds(),
			RSSMiB: procRSS(pid), PeakRSSMiB: procPeakRSS(pid), Hosts: run.r.finalShare(rep.api(), rep.id)})
	}
}

func (run *replicaRun) logTails() string {
	var b strings.Builder
	for _, rep := range run.replicas {
		fmt.Fprintf(&b, "--- %s log (tail)\n%s\n", rep.id, rep.logTail())
	}
	return b.String()
}
