package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// benchReplica is one optimus-controller process of the replica mode.
type benchReplica struct {
	id, addr, logPath string
	args              []string
	cmd               *exec.Cmd
	exited            chan struct{}
	started           time.Time
}

func (r *benchReplica) api() string { return "http://" + r.addr }

func (r *benchReplica) start(bin string) error {
	log, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, r.args...)
	cmd.Stdout, cmd.Stderr = log, log
	// The replica dies with the benchmark, however the benchmark ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start replica %s: %w", r.id, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); log.Close(); close(exited) }()
	r.cmd, r.exited, r.started = cmd, exited, time.Now()
	return nil
}

func (r *benchReplica) running() bool { return r.cmd != nil }

func (r *benchReplica) pid() int {
	if r.cmd == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

// kill is kill -9.
func (r *benchReplica) kill() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.exited
	r.cmd = nil
}

// stop is SIGTERM, then SIGKILL when the replica is not gone within grace.
func (r *benchReplica) stop(grace time.Duration) {
	if r.cmd == nil {
		return
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

// logTail is the end of the replica's log, for error messages.
func (r *benchReplica) logTail() string {
	b, _ := os.ReadFile(r.logPath)
	return tail(string(b))
}

// apiClient waits long: replicas on a loaded machine answer slowly, and a
// missed poll only delays the next one.
var apiClient = &http.Client{Timeout: 30 * time.Second}

func getJSONFrom(u string, v any) error {
	resp, err := apiClient.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// fleetSummary is what the benchmark reads of /api/v1/summary.
type fleetSummary struct {
	Counts struct {
		Hosts, Ready, Quarantined, Pending, Passed int
	} `json:"counts"`
	Replicas []v1alpha1.ReplicaStatus `json:"replicas"`
}

func summaryOf(api string) (*fleetSummary, error) {
	var s fleetSummary
	if err := getJSONFrom(api+"/api/v1/summary", &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// listHosts walks the paged status list without resource states: the
// fleet's hosts with their owner and last run, never the whole document.
func listHosts(api string) ([]v1alpha1.HostStatus, error) {
	var hosts []v1alpha1.HostStatus
	cont := ""
	for {
		var page struct {
			Metadata struct {
				Continue string `json:"continue"`
			} `json:"metadata"`
			Items []v1alpha1.HostStatus `json:"items"`
		}
		u := api + "/api/v1/status?resources=false&limit=1000"
		if cont != "" {
			u += "&continue=" + url.QueryEscape(cont)
		}
		if err := getJSONFrom(u, &page); err != nil {
			return nil, err
		}
		hosts = append(hosts, page.Items...)
		if cont = page.Metadata.Continue; cont == "" {
			return hosts, nil
		}
	}
}

// rolloutOf is the replica's rollout; nil when it has none or no answer.
func rolloutOf(api string) *v1alpha1.RolloutStatus {
	var ro v1alpha1.RolloutStatus
	if getJSONFrom(api+"/api/v1/rollout", &ro) != nil || ro.Generation == "" {
		return nil
	}
	return &ro
}

// etcdSample is etcd's own counters and database size at one moment.
type etcdSample struct {
	at                    time.Time
	puts, deletes, txns   float64
	proposals             float64
	dbBytes, dbInUseBytes float64
}

// sampleEtcd reads etcd's /metrics on its client URL.
func sampleEtcd(clientURL string) (etcdSample, error) {
	s := etcdSample{at: time.Now()}
	resp, err := apiClient.Get(clientURL + "/metrics")
	if err != nil {
		return s, fmt.Errorf("etcd metrics: %w", err)
	}
	defer resp.Body.Close()
	fields := map[string]*float64{
		"etcd_mvcc_put_total": &s.puts, "etcd_mvcc_delete_total": &s.deletes, "etcd_mvcc_txn_total": &s.txns,
		"etcd_server_proposals_committed_total": &s.proposals,
		"etcd_mvcc_db_total_size_in_bytes":      &s.dbBytes, "etcd_mvcc_db_total_size_in_use_in_bytes": &s.dbInUseBytes,
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if p := fields[name]; ok && p != nil {
			*p, _ = strconv.ParseFloat(v, 64)
		}
	}
	return s, sc.Err()
}

// EtcdLoad is etcd's work over one window of the run.
type EtcdLoad struct {
	Seconds float64 `json:"seconds"`
	// KeysPerS is keys written (puts and deletes) per second; ProposalsPerS
	// the raft proposals committed per second (one per write request).
	KeysPerS      float64 `json:"keysWrittenPerS"`
	TxnsPerS      float64 `json:"txnsPerS"`
	ProposalsPerS float64 `json:"proposalsPerS"`
	Keys          float64 `json:"keysWritten"`
	DBMiB         float64 `json:"dbMiB"`
	DBInUseMiB    float64 `json:"dbInUseMiB"`
}

func etcdLoad(a, b etcdSample) EtcdLoad {
	s := b.at.Sub(a.at).Seconds()
	keys := b.puts + b.deletes - a.puts - a.deletes
	return EtcdLoad{Seconds: s, Keys: keys, KeysPerS: keys / s, TxnsPerS: (b.txns - a.txns) / s,
		ProposalsPerS: (b.proposals - a.proposals) / s, DBMiB: b.dbBytes / (1 << 20), DBInUseMiB: b.dbInUseBytes / (1 << 20)}
}

// procRSS is a process's resident set now, in MiB.
func procRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// loadAvg is the machine's load average, as /proc/loadavg gives it.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
