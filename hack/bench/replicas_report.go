package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// ReplicasResult is the replica mode's document: R optimus-controller
// replicas sharing N Host resources through one etcd member.
type ReplicasResult struct {
	Machine       Machine `json:"machine"`
	Hosts         int     `json:"hosts"`
	Replicas      int     `json:"replicas"`
	PerHost       int     `json:"resourcesPerHost"`
	Containers    int     `json:"containers"`
	Simulated     bool    `json:"simulated,omitempty"`
	LeaseTTLS     float64 `json:"leaseTTLS"`
	ResyncPeriodS float64 `json:"resyncPeriodS"`
	// HostsPerReplica is each replica's share after the first pass.
	HostsPerReplica map[string]int `json:"hostsPerReplica"`
	// FirstPassS is from the first replica's start until every host is
	// Ready fleet-wide; FirstPassByReplicaS until each replica's last host
	// ended its first reconcile.
	FirstPassS          float64            `json:"firstPassS"`
	FirstPassByReplicaS map[string]float64 `json:"firstPassByReplicaS"`
	// ResyncPassS is the resync pass after the first: from its first
	// reconcile's start to its last one's end.
	ResyncPassS float64  `json:"resyncPassS"`
	EtcdSteady  EtcdLoad `json:"etcdSteady"`
	Takeover    Takeover `json:"takeover"`
	// EtcdTakeover is from the kill until the survivors reconciled every
	// host the killed replica owned.
	EtcdTakeover EtcdLoad      `json:"etcdTakeover"`
	Rollout      RolloutResult `json:"rollout"`
	EtcdRollout  EtcdLoad      `json:"etcdRollout"`
	Procs        []ReplicaProc `json:"procs"`
	// LoadAvg is the machine's load average at the start and after each step.
	LoadAvg map[string]string `json:"loadAvg"`
	Notes   []string          `json:"notes,omitempty"`
}

// Takeover is the kill -9 of the replica owning the most hosts.
type Takeover struct {
	Killed string `json:"killed"`
	Moved  int    `json:"hostsMoved"`
	// S is from the kill until the last of its hosts had been reconciled
	// (started after the kill, converged) by a survivor.
	S       float64 `json:"s"`
	TwoTTLS float64 `json:"twoTTLS"`
	// FirstPassShareS and ResyncShareS are the first pass and the resync
	// pass scaled to the hosts moved: what one pass of those hosts costs
	// with new connections and with kept ones.
	FirstPassShareS float64 `json:"firstPassShareS"`
	ResyncShareS    float64 `json:"resyncShareS"`
}

// RolloutResult is a change to every host's own file under a RolloutPolicy.
type RolloutResult struct {
	// CompleteS is from writing the change until GET /api/v1/rollout said
	// Complete (polled every 2 s).
	CompleteS          float64 `json:"completeS"`
	Phase              string  `json:"phase"`
	Batches            int     `json:"batches"`
	Done               int     `json:"done"`
	Failed             int     `json:"failed"`
	SameOnEveryReplica bool    `json:"sameOnEveryReplica"`
	Sampled            int     `json:"hostsSampled"`
	SampledChanged     int     `json:"hostsSampledChanged"`
}

// ReplicaProc is one replica's process at the end of the run.
type ReplicaProc struct {
	ID         string  `json:"id"`
	Hosts      int     `json:"hosts"`
	UpS        float64 `json:"upS"`
	CPUS       float64 `json:"cpuS"`
	RSSMiB     float64 `json:"rssMiB"`
	PeakRSSMiB float64 `json:"peakRSSMiB"`
}

// finalShare is the hosts replica id owns now, as api's summary says.
func (r *ReplicasResult) finalShare(api, id string) int {
	s, err := summaryOf(api)
	if err != nil {
		return 0
	}
	for _, rep := range s.Replicas {
		if rep.ID == id {
			return rep.Hosts
		}
	}
	return 0
}

func printReplicas(w io.Writer, r ReplicasResult) {
	fmt.Fprintf(w, "\nMachine: %d CPUs, MemTotal %s, %s, kernel %s; load average %s\n", r.Machine.NProc, r.Machine.MemTotal, r.Machine.GoVersion, r.Machine.Kernel, loadAvg())
	where := "sshd containers"
	if r.Simulated {
		where = "simulated hosts (hack/fleetsim)"
	}
	fmt.Fprintf(w, "Topology: %d replicas, one etcd member, %d Host resources on %s in %d containers; %d resources per host; lease TTL %.0fs, resync %.0fs\n\n",
		r.Replicas, r.Hosts, where, r.Containers, r.PerHost, r.LeaseTTLS, r.ResyncPeriodS)
	ids := make([]string, 0, len(r.HostsPerReplica))
	for id := range r.HostsPerReplica {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var shares, passes []string
	for _, id := range ids {
		shares = append(shares, fmt.Sprintf("%s %d", id, r.HostsPerReplica[id]))
		passes = append(passes, fmt.Sprintf("%s %.1f s", id, r.FirstPassByReplicaS[id]))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "measure\tfigure\t")
	fmt.Fprintf(tw, "hosts per replica\t%s\t\n", strings.Join(shares, ", "))
	fmt.Fprintf(tw, "first pass, start → every host Ready\t%.1f s\t\n", r.FirstPassS)
	fmt.Fprintf(tw, "first pass per replica\t%s\t\n", strings.Join(passes, ", "))
	fmt.Fprintf(tw, "resync pass after the first\t%.1f s\t\n", r.ResyncPassS)
	fmt.Fprintf(tw, "etcd, steady (over the resync pass)\t%s\t\n", r.EtcdSteady)
	t := r.Takeover
	fmt.Fprintf(tw, "kill -9 %s: its %d hosts reconciled by survivors\t%.1f s (2 × TTL %.0f s; one pass of them: first %.1f s, resync %.1f s)\t\n",
		t.Killed, t.Moved, t.S, t.TwoTTLS, t.FirstPassShareS, t.ResyncShareS)
	fmt.Fprintf(tw, "etcd, during the takeover\t%s\t\n", r.EtcdTakeover)
	ro := r.Rollout
	fmt.Fprintf(tw, "rollout of a change to every host (%d batches)\t%s after %.1f s, %d done, %d failed\t\n", ro.Batches, ro.Phase, ro.CompleteS, ro.Done, ro.Failed)
	fmt.Fprintf(tw, "rollout: same on every replica; sampled hosts changed\t%v; %d of %d\t\n", ro.SameOnEveryReplica, ro.SampledChanged, ro.Sampled)
	fmt.Fprintf(tw, "etcd, during the rollout\t%s\t\n", r.EtcdRollout)
	for _, p := range r.Procs {
		fmt.Fprintf(tw, "replica %s at the end (%d hosts)\tCPU %.1f s over %.0f s, RSS %.0f MiB (peak %.0f MiB)\t\n", p.ID, p.Hosts, p.CPUS, p.UpS, p.RSSMiB, p.PeakRSSMiB)
	}
	tw.Flush()
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
}

func (l EtcdLoad) String() string {
	return fmt.Sprintf("%.1f keys/s, %.1f txns/s, %.1f proposals/s over %.0f s; db %.1f MiB (%.1f in use)",
		l.KeysPerS, l.TxnsPerS, l.ProposalsPerS, l.Seconds, l.DBMiB, l.DBInUseMiB)
}
