package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"syscall"
	"time"

	"github.com/optimus-cm/optimus/internal/etcdtest"
	"github.com/optimus-cm/optimus/test/testhost"
)

// faultKind names one kind of fault; docs/reliability.md describes each.
type faultKind string

const (
	faultContainerStop    faultKind = "container-stop"
	faultContainerPause   faultKind = "container-pause"
	faultContainerRestart faultKind = "container-restart"
	faultSshdRestart      faultKind = "sshd-restart"
	faultReplicaKill      faultKind = "replica-kill"
	faultReplicaStop      faultKind = "replica-stop"
	faultEtcdMember       faultKind = "etcd-member"
	faultEtcdMajority     faultKind = "etcd-majority"
	faultEtcdPartition    faultKind = "etcd-partition"
	faultEtcdDelay        faultKind = "etcd-delay"
	faultCPUStarve        faultKind = "cpu-starve"
)

var allFaults = []faultKind{faultContainerStop, faultContainerPause, faultContainerRestart, faultSshdRestart,
	faultReplicaKill, faultReplicaStop, faultEtcdMember, faultEtcdMajority, faultEtcdPartition, faultEtcdDelay, faultCPUStarve}

// scope is what a fault holds while active: at most one fault per scope,
// so that a container fault never overlaps another (the rollout's failure
// budget allows one container's hosts) and one replica at most is down.
func (k faultKind) scope() string {
	switch k {
	case faultContainerStop, faultContainerPause, faultContainerRestart, faultSshdRestart:
		return "container"
	case faultReplicaKill, faultReplicaStop, faultEtcdPartition, faultEtcdDelay:
		return "replica"
	case faultEtcdMember, faultEtcdMajority:
		return "etcd"
	}
	return "cpu"
}

// fault is one injected fault and when it was healed.
type fault struct {
	kind     faultKind
	target   string
	hosts    []string // Host resources it cut off (container faults)
	start    time.Time
	healAt   time.Time // planned
	healed   time.Time
	heal     func() error
	healErrs []string
}

// injector applies faults chosen by the seeded generator.
type injector struct {
	rng        *rand.Rand
	containers []*testhost.Host
	hostsOf    map[string][]string // container → Host resources
	replicas   []*replica
	etcd       *etcdtest.Cluster
	ttl        time.Duration
	order      []faultKind       // what is left of this round
	active     map[string]*fault // by scope
	log        func(format string, args ...any)
}

// pick returns the next fault kind whose scope is free from a seeded
// shuffle of every kind, so that each kind comes once per round; a kind
// whose scope is busy waits for a later pick of the same round.
func (in *injector) pick() (faultKind, bool) {
	if len(in.order) == 0 {
		in.order = append([]faultKind(nil), allFaults...)
		in.rng.Shuffle(len(in.order), func(i, j int) { in.order[i], in.order[j] = in.order[j], in.order[i] })
	}
	for i, k := range in.order {
		if in.active[k.scope()] == nil {
			in.order = append(in.order[:i:i], in.order[i+1:]...)
			return k, true
		}
	}
	return "", false
}

// newRand is the run's only source of randomness: the seed replays it.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 27)) }

func (in *injector) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(in.rng.Int64N(int64(hi-lo)+1))
}

// inject starts a fault of kind k; the fault says how to heal it.
func (in *injector) inject(ctx context.Context, k faultKind) (*fault, error) {
	now := time.Now()
	f := &fault{kind: k, start: now, healAt: now.Add(in.between(3*time.Second, 10*time.Second))}
	c := in.containers[in.rng.IntN(len(in.containers))]
	r := in.replicas[in.rng.IntN(len(in.replicas))]
	var err error
	switch k {
	case faultContainerStop:
		f.target, f.hosts = c.Container, in.hostsOf[c.Container]
		err = docker(ctx, "stop", "-t", "1", c.Container)
		f.heal = func() error { return docker(context.WithoutCancel(ctx), "start", c.Container) }
	case faultContainerPause:
		f.target, f.hosts = c.Container, in.hostsOf[c.Container]
		// The freezer can fail on a busy machine ("unable to freeze"): try again.
		for range 3 {
			if err = docker(ctx, "pause", c.Container); err == nil {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		f.heal = func() error { return docker(context.WithoutCancel(ctx), "unpause", c.Container) }
	case faultContainerRestart:
		f.target, f.hosts = c.Container, in.hostsOf[c.Container]
		err = docker(ctx, "restart", "-t", "1", c.Container)
		f.healAt = time.Now()
		f.heal = func() error { return nil }
	case faultSshdRestart:
		// sshd is the container's PID 1: SIGHUP makes it re-execute (its
		// listener closes and opens again) and every session's sshd is
		// killed, as a crash and restart of the daemon would.
		f.target, f.hosts = c.Container, in.hostsOf[c.Container]
		err = docker(ctx, "exec", c.Container, "sh", "-c", `kill -HUP 1; pkill -KILL -f '^sshd: ' || true`)
		f.healAt = time.Now()
		f.heal = func() error { return nil }
	case faultReplicaKill:
		f.target = r.id
		r.Kill()
		f.heal = r.Start
	case faultReplicaStop:
		f.target = r.id
		f.healAt = now.Add(in.between(in.ttl, 3*in.ttl))
		r.Pause()
		f.heal = func() error { r.Resume(); return nil }
	case faultEtcdPartition:
		f.target = r.id
		f.healAt = now.Add(in.between(in.ttl, 3*in.ttl))
		for _, p := range r.proxies {
			p.Break()
		}
		f.heal = func() error { healProxies(r); return nil }
	case faultEtcdDelay:
		d := in.between(100*time.Millisecond, 1500*time.Millisecond)
		f.target = fmt.Sprintf("%s +%s", r.id, d.Round(time.Millisecond))
		for _, p := range r.proxies {
			p.Delay(d)
		}
		f.heal = func() error { healProxies(r); return nil }
	case faultEtcdMember:
		m := in.etcd.Members[in.rng.IntN(len(in.etcd.Members))]
		f.target = m.Name
		m.Stop()
		f.heal = m.Start
	case faultEtcdMajority:
		// Two of three members: no quorum, every replica must stop acting.
		i := in.rng.IntN(len(in.etcd.Members))
		a, b := in.etcd.Members[i], in.etcd.Members[(i+1)%len(in.etcd.Members)]
		f.target = a.Name + "+" + b.Name
		f.healAt = now.Add(in.between(in.ttl, 2*in.ttl))
		a.Stop()
		b.Stop()
		f.heal = func() error {
			if err := a.Start(); err != nil {
				return err
			}
			return b.Start()
		}
	case faultCPUStarve:
		f.healAt = now.Add(in.between(3*time.Second, 6*time.Second))
		var procs []*exec.Cmd
		for range 3 {
			cmd := exec.Command("sh", "-c", "while :; do :; done")
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			if err := cmd.Start(); err == nil {
				procs = append(procs, cmd)
			}
		}
		f.target = fmt.Sprintf("%d busy loops", len(procs))
		f.heal = func() error {
			for _, p := range procs {
				_ = p.Process.Kill()
				_ = p.Wait()
			}
			return nil
		}
	}
	if err != nil {
		// The fault did not take; heal whatever it may have done.
		if f.heal != nil {
			_ = f.heal()
		}
		return nil, fmt.Errorf("%s on %s: %w", k, f.target, err)
	}
	return f, nil
}

func healProxies(r *replica) {
	for _, p := range r.proxies {
		p.Heal()
	}
}

func docker(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("docker %s: %v: %s", args[0], err, out)
	}
	return nil
}
