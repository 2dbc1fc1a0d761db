package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// options are the run's flags.
type options struct {
	seed       uint64
	duration   time.Duration
	hosts      int
	containers int
	replicas   int
	resync     time.Duration
	ttl        time.Duration
	race       bool
	rollout    bool
	keep       bool
	prefix     string
	jsonPath   string
}

func main() {
	var o options
	flag.Uint64Var(&o.seed, "seed", 0, "seed of the fault schedule (0: one from the clock, printed so the run can be replayed)")
	flag.DurationVar(&o.duration, "duration", 3*time.Minute, "how long faults are injected, after the fleet's first convergence (the rollouts of 60 hosts need about this much to halt and to finish under faults)")
	flag.IntVar(&o.hosts, "hosts", 60, "Host resources, spread over the containers")
	flag.IntVar(&o.containers, "containers", 4, "test-host containers the hosts share (a container fault cuts off hosts/containers hosts; keep that at or under the rollout's 30% failure budget)")
	flag.IntVar(&o.replicas, "replicas", 3, "optimus-controller replicas")
	flag.DurationVar(&o.resync, "resync", 10*time.Second, "the replicas' --resync; every host must converge within two of these after the faults stop")
	flag.DurationVar(&o.ttl, "lease-ttl", 5*time.Second, "the replicas' --etcd-lease-ttl")
	flag.BoolVar(&o.race, "race", false, "build the replicas with the race detector (CI does)")
	flag.BoolVar(&o.rollout, "rollout", true, "put a RolloutPolicy in the manifests (false: every change goes to every host at once, and the halted-rollout invariant is not exercised)")
	flag.BoolVar(&o.keep, "keep", false, "leave the work directory (logs, state, manifests) in place; containers and processes are still removed")
	flag.StringVar(&o.prefix, "prefix", "optimus-chaos", "container name prefix (containers of that name are replaced)")
	flag.StringVar(&o.jsonPath, "json", "", "also write the CHAOS document to this file")
	flag.Parse()
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano()%1_000_000_000) + 1
	}
	if o.hosts < o.containers || o.containers < 1 || o.replicas < 1 || o.duration <= 0 {
		fmt.Fprintln(os.Stderr, "chaos: need -containers >= 1, -hosts >= -containers, -replicas >= 1 and a positive -duration")
		os.Exit(2)
	}
	if perContainer := (o.hosts + o.containers - 1) / o.containers; o.rollout && perContainer*100 > 30*o.hosts {
		logf("warning: a container holds up to %d of %d hosts, more than the rollout's 30%% budget: a container fault alone may halt a rollout (use more -containers)", perContainer, o.hosts)
	}
	fmt.Printf("chaos: seed %d (replay with: go run ./hack/chaos -seed %d -duration %s -hosts %d -containers %d -replicas %d -resync %s -rollout=%v)\n",
		o.seed, o.seed, o.duration, o.hosts, o.containers, o.replicas, o.resync, o.rollout)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	rep, err := run(ctx, o)
	stop()
	if rep != nil {
		rep.print(os.Stdout)
		if err := rep.writeJSON(os.Stdout, o.jsonPath); err != nil {
			fmt.Fprintln(os.Stderr, "chaos:", err)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "chaos: %v (seed %d)\n", err, o.seed)
		os.Exit(2)
	}
	if rep.failed() {
		fmt.Fprintf(os.Stderr, "chaos: invariants violated (seed %d)\n", o.seed)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s chaos: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}
