package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// replica is one optimus-controller process, restarted with the same
// identity, state directory and manifest copy after a kill.
type replica struct {
	id       string
	bin      string
	addr     string // --listen
	stateDir string
	manDir   string
	logPath  string
	proxies  []*proxy // one per etcd member: its only way to etcd
	args     []string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	stopped bool // SIGSTOPped
	starts  int
}

func (r *replica) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return nil
	}
	logf, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	var eps []string
	for _, p := range r.proxies {
		eps = append(eps, "http://"+p.Addr())
	}
	args := append([]string{"--watch", r.manDir, "--listen", r.addr, "--state-dir", r.stateDir,
		"--etcd-endpoints", strings.Join(eps, ","), "--etcd-prefix", "/chaos", "--replica-id", r.id,
		"--log-format", "json"}, r.args...)
	cmd := exec.Command(r.bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// The replica dies with this program, however this program ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	r.cmd, r.exited, r.stopped = cmd, exited, false
	r.starts++
	return nil
}

// Kill is kill -9.
func (r *replica) Kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.exited
	r.cmd = nil
}

// Terminate stops the replica cleanly (SIGTERM, as systemd does), killing
// it when it does not end within grace.
func (r *replica) Terminate(grace time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	if r.stopped {
		_ = r.cmd.Process.Signal(syscall.SIGCONT)
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(grace):
		_ = r.cmd.Process.Signal(syscall.SIGKILL)
		<-r.exited
	}
	r.cmd = nil
}

// Pause is SIGSTOP, Resume SIGCONT.
func (r *replica) Pause()  { r.signal(syscall.SIGSTOP, true) }
func (r *replica) Resume() { r.signal(syscall.SIGCONT, false) }

func (r *replica) signal(sig syscall.Signal, stopped bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		_ = r.cmd.Process.Signal(sig)
		r.stopped = stopped
	}
}

func (r *replica) PID() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

// Status is the fleet's status as this replica serves it; nil when it does
// not answer.
func (r *replica) Status() *v1alpha1.ControllerStatus {
	var st v1alpha1.ControllerStatus
	if getJSON("http://"+r.addr+"/api/v1/status", &st) != nil {
		return nil
	}
	return &st
}

// Rollout is the replica's rollout, nil when it has none or does not answer.
func (r *replica) Rollout() *v1alpha1.RolloutStatus {
	var ro v1alpha1.RolloutStatus
	if getJSON("http://"+r.addr+"/api/v1/rollout", &ro) != nil || ro.Generation == "" {
		return nil
	}
	return &ro
}

func getJSON(url string, v any) error {
	resp, err := httpClient.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// procStats are the leak figures of a replica process.
type procStats struct {
	RSSKiB     int `json:"rssKiB"`
	Goroutines int `json:"goroutines"`
}

func (r *replica) Stats() (procStats, error) {
	pid := r.PID()
	if pid == 0 {
		return procStats{}, fmt.Errorf("%s is not running", r.id)
	}
	var ps procStats
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ps, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			ps.RSSKiB, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	resp, err := httpClient.Get("http://" + r.addr + "/metrics")
	if err != nil {
		return ps, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			ps.Goroutines = int(f)
		}
	}
	if ps.Goroutines == 0 {
		return ps, fmt.Errorf("%s: no go_goroutines in /metrics", r.id)
	}
	return ps, nil
}

// historyDB is the replica's run history database.
func (r *replica) historyDB() string { return filepath.Join(r.stateDir, "history.db") }

// live says whether the replica runs and is not SIGSTOPped: a stopped one
// would hold a status request until its timeout.
func (r *replica) live() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cmd != nil && !r.stopped
}
