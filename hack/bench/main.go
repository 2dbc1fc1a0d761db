package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

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
	ctrlProfile := flag.String("controller-profile", "", "controller mode: save the controller's heap profiles, its log and GC trace (GODEBUG=gctrace=1) in this directory")
	ctrlMaxHosts := flag.Int("max-concurrent-hosts", 0, "controller mode: --max-concurrent-hosts (0: the controller's default)")
	scriptPairs := flag.Int("script-pairs", 3, "alternating pairs of Optimus cold against a hand-written shell script doing the same work (0 skips them)")
	scriptOnly := flag.Bool("script-only", false, "run only the comparison with the hand-written script (no Ansible, no scale runs)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{nHosts: *hosts, keep: *keep, prefix: *prefix, scriptPairs: *scriptPairs, scriptOnly: *scriptOnly}
	var err error
	if *ctrl > 0 {
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
}

// Result is the BENCH document.
type Result struct {
	Machine          Machine           `json:"machine"`
	Hosts            int               `json:"hosts"`
	ResourcesPerHost int               `json:"resourcesPerHost"`
	Ansible          Timing            `json:"ansible"`
	Optimus          Timing            `json:"optimus"`
	Ratio            Ratio             `json:"ratioAnsibleOverOptimus"`
	Phases           []PhaseReport     `json:"phases,omitempty"`
	Scale            []ScaleResult     `json:"scale,omitempty"`
	Script           *ScriptComparison `json:"script,omitempty"`
	Notes            []string          `json:"notes,omitempty"`
}

// Machine describes where the numbers were taken.
type Machine struct {
	NProc          int    `json:"nproc"`
	MemTotal       string `json:"memTotal"`
	GoVersion      string `json:"goVersion"`
	AnsibleVersion string `json:"ansibleVersion"`
	Kernel         string `json:"kernel"`
}

// Timing is a cold and a no-op run, in seconds.
type Timing struct {
	ColdS float64 `json:"coldS"`
	NoopS float64 `json:"noopS"`
}

// Ratio is Ansible's time over Optimus's.
type Ratio struct {
	Cold float64 `json:"cold"`
	Noop float64 `json:"noop"`
}

// ScaleResult is one Optimus scale run.
type ScaleResult struct {
	Hosts      int     `json:"hosts"`
	Resources  int     `json:"resources"`
	ColdS      float64 `json:"coldS"`
	ColdOK     bool    `json:"coldConverged"`
	ColdRSSMiB float64 `json:"coldPeakRSSMiB"`
	NoopS      float64 `json:"noopS"`
	NoopRSSMiB float64 `json:"noopPeakRSSMiB"`
	EngineNoop float64 `json:"noopEngineS"` // durationNs reported by optimus -o json
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
	if b.work != "" {
		os.RemoveAll(b.work)
	}
}

var errTooSlow = errors.New("too slow")

// optimusRun is one invocation of the optimus binary.
type optimusRun struct {
	wall      time.Duration
	maxRSSMiB float64
	cpu       time.Duration // user + system
	stdout    string
	noop      bool
}

// optimus runs `optimus apply -f dir --yes` and times it, process start
// included; limit > 0 stops it after that long with errTooSlow.
func (b *bench) optimus(ctx context.Context, dir string, limit time.Duration) (optimusRun, error) {
	runCtx := ctx
	if limit > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	cmd := exec.CommandContext(runCtx, b.bin, "apply", "-f", dir, "--yes")
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	r := optimusRun{wall: time.Since(start), stdout: out.String()}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.maxRSSMiB = float64(ru.Maxrss) / 1024 // KiB on Linux
			r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	r.noop = strings.Contains(r.stdout, "Nothing to do")
	logf("optimus apply -f %s: %.2fs, peak RSS %.0f MiB", filepath.Base(dir), r.wall.Seconds(), r.maxRSSMiB)
	if limit > 0 && runCtx.Err() != nil && ctx.Err() == nil {
		return r, errTooSlow
	}
	if err != nil {
		return r, fmt.Errorf("optimus apply -f %s: %v\n%s", dir, err, tail(r.stdout))
	}
	return r, nil
}

// optimusJSON runs a no-op with -o json and returns the engine's own
// duration (durationNs) in seconds.
func (b *bench) optimusJSON(ctx context.Context, dir string) (float64, error) {
	out, err := exec.CommandContext(ctx, b.bin, "apply", "-f", dir, "--yes", "-o", "json").Output()
	if err != nil {
		return 0, err
	}
	var rep struct {
		DurationNs int64 `json:"durationNs"`
		Report     *struct {
			DurationNs int64 `json:"durationNs"`
		} `json:"report"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return 0, err
	}
	if rep.Report != nil {
		return float64(rep.Report.DurationNs) / 1e9, nil
	}
	return float64(rep.DurationNs) / 1e9, nil
}

var recapLine = regexp.MustCompile(`(?m)^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

// runAnsible runs the playbook and checks PLAY RECAP: no host unreachable
// or failed, and with noop no host changed.
func runAnsible(ctx context.Context, playbook string, noop bool) (float64, error) {
	cmd := exec.CommandContext(ctx, "ansible-playbook", playbook)
	cmd.Env = append(os.Environ(), "ANSIBLE_CONFIG="+filepath.Join(filepath.Dir(playbook), "ansible.cfg"), "ANSIBLE_NOCOLOR=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start).Seconds()
	if err != nil {
		return 0, fmt.Errorf("ansible-playbook: %v\n%s", err, tail(out.String()))
	}
	recap := recapLine.FindAllStringSubmatch(out.String(), -1)
	if len(recap) == 0 {
		return 0, fmt.Errorf("ansible-playbook printed no PLAY RECAP:\n%s", tail(out.String()))
	}
	changed := 0
	for _, m := range recap {
		c, _ := strconv.Atoi(m[3])
		changed += c
		if m[4] != "0" || m[5] != "0" {
			return 0, fmt.Errorf("ansible: host %s unreachable=%s failed=%s", m[1], m[4], m[5])
		}
	}
	kind := "cold"
	if noop {
		kind = "no-op"
		if changed != 0 {
			return 0, fmt.Errorf("ansible no-op run reported changed=%d:\n%s", changed, tail(out.String()))
		}
	}
	logf("ansible %s: %.2fs, changed=%d over %d hosts", kind, wall, changed, len(recap))
	return wall, nil
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

// ensureAnsible installs Debian's ansible-core when ansible-playbook is missing.
func ensureAnsible(ctx context.Context) error {
	if _, err := exec.LookPath("ansible-playbook"); err == nil {
		return nil
	}
	logf("ansible-playbook not found: installing ansible-core with apt")
	sudo := []string{}
	if os.Geteuid() != 0 {
		sudo = []string{"sudo"}
	}
	for _, args := range [][]string{{"apt-get", "update"}, {"apt-get", "install", "-y", "ansible-core"}} {
		args = append(sudo, args...)
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w", strings.Join(args, " "), err)
		}
	}
	_, err := exec.LookPath("ansible-playbook")
	return err
}

func machineFacts(ctx context.Context) Machine {
	m := Machine{NProc: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				m.MemTotal = strings.TrimSpace(v)
			}
		}
	}
	if out, err := exec.CommandContext(ctx, "ansible-playbook", "--version").Output(); err == nil {
		m.AnsibleVersion = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	if out, err := exec.CommandContext(ctx, "uname", "-r").Output(); err == nil {
		m.Kernel = strings.TrimSpace(string(out))
	}
	return m
}

func (b *bench) print(w io.Writer) {
	r := b.result
	fmt.Fprintf(w, "\nMachine: %d CPUs, MemTotal %s, %s, %s, kernel %s\n", r.Machine.NProc, r.Machine.MemTotal,
		r.Machine.GoVersion, r.Machine.AnsibleVersion, r.Machine.Kernel)
	fmt.Fprintf(w, "Workload: %d hosts x %d resources (20 users, 20 directories, 20 files)\n\n", r.Hosts, r.ResourcesPerHost)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tool\tcold s\tno-op s\t")
	fmt.Fprintf(tw, "Ansible\t%.2f\t%.2f\t\n", r.Ansible.ColdS, r.Ansible.NoopS)
	fmt.Fprintf(tw, "Optimus\t%.3f\t%.3f\t\n", r.Optimus.ColdS, r.Optimus.NoopS)
	fmt.Fprintf(tw, "Ansible/Optimus\t%.1fx\t%.1fx\t\n", r.Ratio.Cold, r.Ratio.Noop)
	tw.Flush()
	printScript(w, r.Script)
	if len(r.Phases) > 0 {
		fmt.Fprintln(w, "\nOptimus phases (engine in-process; per-host sum / slowest host):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "run\tcycle\tphase\twall ms\tdial sum/max ms\tround trip sum/max ms\tplan CPU ms\t")
		for _, p := range r.Phases {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%.1f\t%.1f / %.1f\t%.1f / %.1f\t%.1f\t\n", p.Run, p.Cycle, p.Phase, p.WallMs,
				p.DialSumMs, p.DialMaxMs, p.RTSumMs, p.RTMaxMs, p.PlanMs)
		}
		tw.Flush()
	}
	if len(r.Scale) > 0 {
		fmt.Fprintf(w, "\nOptimus scale (Host resources round-robin over %d containers, 60 resources each):\n", r.Hosts)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "hosts\tresources\tcold s\tcold ms/host\tno-op s\tno-op ms/host\tengine no-op s\tpeak RSS cold MiB\tpeak RSS no-op MiB\tRSS KiB/host\t")
		for i, s := range r.Scale {
			perHost := "-"
			if i > 0 {
				prev := r.Scale[i-1]
				perHost = fmt.Sprintf("%.0f", (s.NoopRSSMiB-prev.NoopRSSMiB)*1024/float64(s.Hosts-prev.Hosts))
			}
			cold := fmt.Sprintf("%.2f", s.ColdS)
			if !s.ColdOK {
				cold = ">" + cold
			}
			fmt.Fprintf(tw, "%d\t%d\t%s\t%.1f\t%.2f\t%.1f\t%.2f\t%.0f\t%.0f\t%s\t\n", s.Hosts, s.Resources, cold,
				s.ColdS*1000/float64(s.Hosts), s.NoopS, s.NoopS*1000/float64(s.Hosts), s.EngineNoop, s.ColdRSSMiB, s.NoopRSSMiB, perHost)
		}
		tw.Flush()
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
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
