package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/optimus-cm/optimus/test/fleetsim"
	"github.com/optimus-cm/optimus/test/testhost"
)

// defaultPrefix names the benchmark's containers: PREFIX-1, PREFIX-2, ...
const defaultPrefix = "optimus-bench"

// coldLimit is how long a scale cold run may take before it is reported as
// too slow; the no-op is still measured on whatever state it reached.
const coldLimit = 3 * time.Minute

func main() {
	hosts := flag.Int("hosts", 3, "number of test containers")
	scale := flag.String("scale", "30,300", "comma-separated Host resource counts for the Optimus scale runs; empty skips them")
	prefix := flag.String("prefix", defaultPrefix, "container name prefix (containers of that name are replaced), so that two benchmarks can run side by side")
	keep := flag.Bool("keep", false, "leave the containers and the work directory for debugging")
	jsonPath := flag.String("json", "", "also write the BENCH document to this file")
	ctrl := flag.Int("controller", 0, "controller mode: run optimus-controller against this many Host resources (a HostGroup over the containers) next to optimus apply, and nothing else")
	ctrlResources := flag.Int("controller-resources", 10, "controller mode: resources per host")
	ctrlProfile := flag.String("controller-profile", "", "controller mode: save the controller's heap profiles, a CPU profile of the resync pass, its log and GC trace (GODEBUG=gctrace=1) in this directory")
	simulated := flag.Bool("fleetsim", false, "controller mode: place each Host resource on a simulated host of its own (hack/fleetsim) instead of round-robin over the sshd containers")
	simPort := flag.Int("fleetsim-base-port", 20000, "controller mode with -fleetsim: port of the first simulated host on 127.0.0.1")
	replicas := flag.Int("replicas", 0, "controller mode: run this many optimus-controller replicas sharing the fleet through one etcd member (measures the split, a takeover after kill -9, etcd's load and a rollout) instead of one controller next to optimus apply")
	leaseTTL := flag.Duration("etcd-lease-ttl", 10*time.Second, "controller mode with -replicas: --etcd-lease-ttl of every replica")
	replicaResync := flag.Duration("replica-resync", 0, "controller mode with -replicas: --resync of every replica (0: 60 s, plus 10 s per 1,000 hosts)")
	ctrlMaxHosts := flag.Int("max-concurrent-hosts", 0, "controller mode: --max-concurrent-hosts (0: the controller's default)")
	scriptPairs := flag.Int("script-pairs", 3, "alternating pairs of Optimus cold against a hand-written shell script doing the same work (0 skips them)")
	scriptOnly := flag.Bool("script-only", false, "run only the comparison with the hand-written script (no Ansible, no scale runs)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{nHosts: *hosts, keep: *keep, prefix: *prefix, scriptPairs: *scriptPairs, scriptOnly: *scriptOnly,
		fleetsim: *simulated, fleetsimPort: *simPort}
	var err error
	if *ctrl > 0 && *replicas > 0 {
		resync := *replicaResync
		if resync <= 0 {
			resync = time.Minute + time.Duration(*ctrl)*10*time.Millisecond
		}
		err = b.replicaMode(ctx, replicaOptions{hosts: *ctrl, replicas: *replicas, perHost: max(*ctrlResources, 2), maxHosts: *ctrlMaxHosts,
			leaseTTL: *leaseTTL, resync: resync, jsonPath: *jsonPath})
	} else if *ctrl > 0 {
		err = b.controllerMode(ctx, *ctrl, max(*ctrlResources, 2), *ctrlMaxHosts, *jsonPath, *ctrlProfile)
	} else {
		err = b.run(ctx, *scale, *jsonPath)
	}
	b.cleanup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// bench holds the state of one benchmark run.
type bench struct {
	nHosts int
	prefix string
	keep   bool
	work   string // temporary directory
	bin    string // the optimus binary
	hosts  []*testhost.Host
	result Result

	scriptPairs int
	scriptOnly  bool

	// fleetsim places the controller mode's hosts on a simulated fleet.
	fleetsim     bool
	fleetsimPort int
}

func (b *bench) run(ctx context.Context, scale, jsonPath string) error {
	if b.nHosts < 1 {
		return errors.New("-hosts must be at least 1")
	}
	var counts []int
	for f := range strings.SplitSeq(scale, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return fmt.Errorf("-scale: %q is not a positive number", f)
		}
		counts = append(counts, n)
	}
	var err error
	if b.work, err = os.MkdirTemp("", "optimus-bench-"); err != nil {
		return err
	}
	if b.scriptOnly {
		return b.runScriptOnly(ctx, jsonPath)
	}
	if err := ensureAnsible(ctx); err != nil {
		return err
	}
	b.result.Machine = machineFacts(ctx)
	b.result.Hosts = b.nHosts
	b.result.ResourcesPerHost = 3 * perKind
	b.bin = filepath.Join(b.work, "optimus")
	logf("building %s", b.bin)
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", b.bin, "./cmd/optimus").CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/optimus (run from the repository root): %v\n%s", err, out)
	}

	// Ansible: cold on fresh hosts, then no-op.
	if err := b.freshHosts(ctx); err != nil {
		return err
	}
	playbook, err := writeAnsible(filepath.Join(b.work, "ansible"), b.hosts)
	if err != nil {
		return err
	}
	if b.result.Ansible.ColdS, err = runAnsible(ctx, playbook, false); err != nil {
		return err
	}
	if b.result.Ansible.NoopS, err = runAnsible(ctx, playbook, true); err != nil {
		return err
	}
	ansibleFP, err := b.fingerprint(ctx, newWorkload(""))
	if err != nil {
		return err
	}

	// Optimus: the same, as a subprocess.
	if err := b.freshHosts(ctx); err != nil {
		return err
	}
	dir := filepath.Join(b.work, "optimus-manifests")
	if err := writeOptimus(dir, b.hosts); err != nil {
		return err
	}
	cold, err := b.optimus(ctx, dir, 0)
	if err != nil {
		return err
	}
	noop, err := b.optimus(ctx, dir, 0)
	if err != nil {
		return err
	}
	if !noop.noop {
		return fmt.Errorf("optimus second run was not a no-op:\n%s", noop.stdout)
	}
	b.result.Optimus = Timing{ColdS: cold.wall.Seconds(), NoopS: noop.wall.Seconds()}
	b.result.Ratio = Ratio{Cold: b.result.Ansible.ColdS / b.result.Optimus.ColdS, Noop: b.result.Ansible.NoopS / b.result.Optimus.NoopS}
	optimusFP, err := b.fingerprint(ctx, newWorkload(""))
	if err != nil {
		return err
	}
	for i := range optimusFP {
		if optimusFP[i] != ansibleFP[i] {
			return fmt.Errorf("Ansible and Optimus left host %d in different states:\n--- ansible\n%s--- optimus\n%s",
				i+1, ansibleFP[i], optimusFP[i])
		}
	}
	logf("end state identical on %d hosts (%d lines of fingerprint each)", len(optimusFP), strings.Count(optimusFP[0], "\n"))

	if b.scriptPairs > 0 {
		if b.result.Script, err = b.compareScript(ctx, dir, b.scriptPairs); err != nil {
			return err
		}
	}

	// Where Optimus spends its time: the engine in-process, on fresh hosts.
	if err := b.freshHosts(ctx); err != nil {
		return err
	}
	if err := writeOptimus(dir, b.hosts); err != nil {
		return err
	}
	phases, err := measurePhases(ctx, dir, fmt.Sprintf("%d hosts", b.nHosts))
	if err != nil {
		return err
	}
	b.result.Phases = append(b.result.Phases, phases...)

	for _, n := range counts {
		sr, ph, err := b.scaleRun(ctx, n)
		if err != nil {
			return err
		}
		b.result.Scale = append(b.result.Scale, sr)
		b.result.Phases = append(b.result.Phases, ph...)
	}

	b.print(os.Stdout)
	return b.emit(jsonPath)
}

// emit prints the BENCH line and, when jsonPath is set, writes it there.
func (b *bench) emit(jsonPath string) error {
	doc, err := json.Marshal(b.result)
	if err != nil {
		return err
	}
	fmt.Printf("BENCH %s\n", doc)
	if jsonPath != "" {
		return os.WriteFile(jsonPath, append(doc, '\n'), 0o644)
	}
	return nil
}

// scaleRun converges n Host resources spread over the containers, then
// runs again as a no-op, and profiles the no-op in-process.
func (b *bench) scaleRun(ctx context.Context, n int) (ScaleResult, []PhaseReport, error) {
	sr := ScaleResult{Hosts: n, Resources: n * 3 * perKind}
	if err := b.freshHosts(ctx); err != nil {
		return sr, nil, err
	}
	dir := filepath.Join(b.work, fmt.Sprintf("scale-%d", n))
	if err := writeScale(dir, n, b.hosts); err != nil {
		return sr, nil, err
	}
	cold, err := b.optimus(ctx, dir, coldLimit)
	if err != nil && !errors.Is(err, errTooSlow) {
		return sr, nil, err
	}
	sr.ColdS, sr.ColdOK, sr.ColdRSSMiB = cold.wall.Seconds(), err == nil, cold.maxRSSMiB
	if err != nil {
		b.result.Notes = append(b.result.Notes, fmt.Sprintf("%d hosts: cold run stopped after %s", n, coldLimit))
		// Finish converging without a limit so the no-op measures a no-op.
		if _, err := b.optimus(ctx, dir, 0); err != nil {
			return sr, nil, err
		}
	}
	noop, err := b.optimus(ctx, dir, 0)
	if err != nil {
		return sr, nil, err
	}
	if !noop.noop {
		return sr, nil, fmt.Errorf("%d hosts: second run was not a no-op:\n%s", n, tail(noop.stdout))
	}
	sr.NoopS, sr.NoopRSSMiB = noop.wall.Seconds(), noop.maxRSSMiB
	if j, err := b.optimusJSON(ctx, dir); err == nil {
		sr.EngineNoop = j
	}
	ph, err := measurePhases(ctx, dir, fmt.Sprintf("scale %d", n))
	return sr, ph, err
}

// freshHosts (re)creates the containers: every cold run starts clean.
func (b *bench) freshHosts(ctx context.Context) error {
	logf("creating %d fresh containers", b.nHosts)
	hosts, err := testhost.Create(ctx, testhost.Options{
		N: b.nHosts, Prefix: b.prefix, KeyDir: filepath.Join(b.work, "keys"),
		Log: os.Stderr, Persistent: b.keep,
	})
	if err != nil {
		return err
	}
	b.hosts = hosts
	return nil
}

func (b *bench) cleanup() {
	if b.keep {
		fmt.Fprintf(os.Stderr, "bench: -keep: containers %s-1..%d and %s left in place\n", b.prefix, b.nHosts, b.work)
		return
	}
	names := make([]string, b.nHosts)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%d", b.prefix, i+1)
	}
	if err := testhost.Remove(context.Background(), names...); err != nil {
		fmt.Fprintln(os.Stderr, "bench: remove containers:", err)
	}
	if b.fleetsim {
		if err := fleetsim.Down(context.Background(), b.prefix); err != nil {
			fmt.Fprintln(os.Stderr, "bench: remove the simulated fleet:", err)
		}
	}
	if b.work != "" {
		os.RemoveAll(b.work)
	}
}

// fingerprint reads the workload's end state in every container.
func (b *bench) fingerprint(ctx context.Context, w workload) ([]string, error) {
	script := w.fingerprintScript()
	out := make([]string, len(b.hosts))
	for i, h := range b.hosts {
		o, err := exec.CommandContext(ctx, "docker", "exec", h.Container, "sh", "-c", script).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("fingerprint %s: %v\n%s", h.Container, err, o)
		}
		out[i] = string(o)
		if strings.Contains(out[i], "missing") || strings.Contains(out[i], "No such file") {
			return nil, fmt.Errorf("fingerprint %s: workload incomplete:\n%s", h.Container, out[i])
		}
	}
	return out, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// tail keeps the end of long output for error messages.
func tail(s string) string {
	const n = 4000
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
