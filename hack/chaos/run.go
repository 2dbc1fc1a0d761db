package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// changePlan is when each manifest change comes, as a fraction of the
// fault phase: content, a resource added, a change that fails on most hosts
// (its rollout halts) with its fix, the resource removed with prune, and a
// last content change. The bad change gets the longest stretch, to reach
// its halt (two batches under faults: 30-60 s here); the last change leaves
// 38% of the faults for its rollout (five batches).
var changePlan = []struct {
	at   float64
	kind genKind
}{{0.04, genContent}, {0.08, genAdd}, {0.12, genBad}, {0.50, genFix}, {0.56, genRemove}, {0.62, genContent}}

// run sets the fleet up, converges it, injects faults and manifest changes
// for the duration, heals everything, and checks the invariants.
func run(ctx context.Context, o options) (*report, error) {
	work, err := os.MkdirTemp("", "optimus-chaos-")
	if err != nil {
		return nil, err
	}
	c := &cluster{work: work}
	defer func() {
		c.close()
		if o.keep {
			logf("-keep: work directory %s left in place", work)
		} else {
			os.RemoveAll(work)
		}
	}()
	rep := &report{Seed: o.seed, Hosts: o.hosts, Containers: o.containers, Replicas: o.replicas,
		DurationS: o.duration.Seconds(), ResyncS: o.resync.Seconds(), Race: o.race, Faults: map[faultKind]int{}}
	gens := []generation{{n: 1, kind: genInitial, at: time.Now()}}
	if err := setUp(ctx, o, c, gens[0]); err != nil {
		return nil, err
	}
	sctx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	smp := startSampler(sctx, c.sampledPaths())
	w := startWatcher(sctx, c.replicas)

	// Warm-up: every host Ready on the first generation, seen by every replica.
	logf("warm-up: waiting for the first convergence")
	if _, err := waitConverged(ctx, c, 10*time.Minute, false); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	warm := map[string]procStats{}
	for _, r := range c.replicas {
		if warm[r.id], err = r.Stats(); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	warmAt := time.Now()
	logf("warm-up done: %v", warm)

	// Faults and manifest changes.
	in := &injector{rng: newRand(o.seed), containers: c.containers, hostsOf: c.hostsOf(),
		replicas: c.replicas, etcd: c.etcd, ttl: o.ttl, active: map[string]*fault{}}
	faults, err := in.faultPhase(ctx, c, o, warmAt, &gens)
	for _, f := range faults {
		rep.Faults[f.kind]++
		for _, e := range f.healErrs {
			rep.note("healing %s on %s failed: %s", f.kind, f.target, e)
		}
	}
	if err != nil {
		return nil, err
	}
	faultsEnd := time.Now()
	logf("faults stopped; every fault healed; final manifests %s", gens[len(gens)-1].name())

	// Convergence within two resync intervals, from a fresh process and in
	// every replica's status.
	took, convErr := waitConverged(ctx, c, 2*o.resync, true)
	rep.ConvergeS, rep.Converged = took.Seconds(), convErr == nil
	if convErr != nil {
		rep.violate(invConvergence, "not converged %s after the faults stopped (2 × resync): %v", 2*o.resync, convErr)
		more, err := waitConverged(ctx, c, time.Minute, true)
		rep.ConvergeS, rep.Converged = (took + more).Seconds(), err == nil
		if err == nil {
			rep.note("converged %.1f s after the faults stopped, late", rep.ConvergeS)
		} else {
			rep.note("still not converged %.0f s after the faults stopped: %v", rep.ConvergeS, err)
		}
	}
	time.Sleep(time.Second) // the samplers' last quarter-second reads
	stopSampling()
	smp.Wait()
	w.wg.Wait()

	rep.Unconverged, rep.UnconvergedHost = longestUnconverged(faults, c.hosts, gens, w.snapshots(), faultsEnd.Add(time.Duration(rep.ConvergeS*float64(time.Second))))
	for _, r := range c.replicas {
		st, err := r.Stats()
		if err != nil {
			rep.violate(invLeak, "%s: %v", r.id, err)
			continue
		}
		rep.checkLeak(r.id, warm[r.id], st)
	}
	audits, attempts, err := readAudits(ctx, c)
	if err != nil {
		return nil, err
	}
	// Clean stops, then the run history of each replica.
	for _, r := range c.replicas {
		r.Terminate(30 * time.Second)
	}
	rep.check(c, gens, evidence{acts: audits, attempts: attempts, samples: smp.Samples(), halts: w.halts()}, warmAt, o.rollout)
	return rep, nil
}

func nextGeneration(gens []generation, kind genKind) generation {
	last := gens[len(gens)-1]
	g := generation{n: last.n + 1, kind: kind, extra: last.extra, at: time.Now()}
	switch kind {
	case genAdd:
		g.extra = true
	case genRemove:
		g.extra = false
	}
	return g
}

// waitConverged waits until every replica answers and shows every host
// Ready; with diff, optimus diff from a fresh process must also exit 0.
func waitConverged(ctx context.Context, c *cluster, within time.Duration, diff bool) (time.Duration, error) {
	start := time.Now()
	why := "not checked yet"
	for time.Since(start) < within {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		// What is observed is the state when the check begins: a diff
		// begun within the bound counts even if it ends after.
		at := time.Since(start)
		if why = notReady(c); why == "" {
			if !diff {
				return at, nil
			}
			code, out := c.diff(ctx)
			if code == 0 {
				return at, nil
			}
			why = fmt.Sprintf("optimus diff exit %d:\n%s", code, diffSummary(out, 12))
		}
		time.Sleep(time.Second)
	}
	return time.Since(start), fmt.Errorf("%s", why)
}

// notReady says what is not converged yet, "" when nothing.
func notReady(c *cluster) string {
	for _, r := range c.replicas {
		st := r.Status()
		if st == nil {
			return r.id + " does not answer"
		}
		if cond := v1alpha1.FindCondition(st.Conditions, v1alpha1.ConditionReplica); cond == nil || cond.Status != v1alpha1.ConditionTrue {
			return r.id + " is not an active replica"
		}
		var notReady []string
		for _, h := range st.Hosts {
			if cond := v1alpha1.FindCondition(h.Conditions, v1alpha1.ConditionReady); cond == nil || cond.Status != v1alpha1.ConditionTrue {
				notReady = append(notReady, h.Name)
			}
		}
		if len(st.Hosts) != len(c.hosts) || len(notReady) > 0 {
			return fmt.Sprintf("%s: %d of %d hosts, not Ready: %v", r.id, len(st.Hosts), len(c.hosts), notReady)
		}
	}
	return ""
}

// longestUnconverged is, over the hosts cut off by container faults, the
// longest time from a fault's heal until the host was Ready again after a
// converged reconcile that started after the heal, with the fault and host
// it was. The time a host spends failing by design (the bad change fails on
// it) is left out.
func longestUnconverged(faults []*fault, hosts []fleetHost, gens []generation, snaps []snapshot, limit time.Time) (float64, string) {
	byName := map[string]fleetHost{}
	for _, h := range hosts {
		byName[h.name] = h
	}
	var longest time.Duration
	var which string
	for _, f := range faults {
		if len(f.hosts) == 0 || f.healed.IsZero() {
			continue
		}
		latest := gens[0]
		for _, g := range gens {
			if !g.at.After(f.healed) {
				latest = g
			}
		}
		for _, name := range f.hosts {
			h := byName[name]
			if latest.failsOn(h) {
				continue
			}
			at := convergedAfter(snaps, name, f.healed)
			if at.IsZero() {
				at = limit
			}
			// A bad change that fails on the host ends the time it could
			// have converged.
			for _, g := range gens {
				if g.at.After(f.healed) && g.at.Before(at) && g.failsOn(h) {
					at = g.at
				}
			}
			if d := at.Sub(f.healed); d > longest {
				longest = d
				which = fmt.Sprintf("%s after %s on %s healed at %s", name, f.kind, f.target, f.healed.Format("15:04:05"))
			}
		}
	}
	return longest.Seconds(), which
}
