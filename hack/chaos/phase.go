package main

import (
	"context"
	"time"
)

// faultPhase injects faults and writes the planned manifest changes (each
// appended to gens) from warmAt for o.duration, then heals every fault
// still active. It returns every fault injected.
func (in *injector) faultPhase(ctx context.Context, c *cluster, o options, warmAt time.Time, gens *[]generation) ([]*fault, error) {
	var faults []*fault
	end := warmAt.Add(o.duration)
	nextFault := warmAt.Add(in.between(time.Second, 3*time.Second))
	nextChange := 0
	defer in.heal(time.Now(), true)
	for now := time.Now(); now.Before(end); now = time.Now() {
		if err := ctx.Err(); err != nil {
			return faults, err
		}
		in.heal(now, false)
		if nextChange < len(changePlan) && !now.Before(warmAt.Add(time.Duration(changePlan[nextChange].at*float64(o.duration)))) {
			g := nextGeneration(*gens, changePlan[nextChange].kind)
			if err := writeManifests(c.manDirs, c.hosts, g, o.rollout); err != nil {
				return faults, err
			}
			*gens = append(*gens, g)
			logf("manifests: %s (%s)", g.name(), g.kind)
			nextChange++
		}
		if !now.Before(nextFault) {
			if k, ok := in.pick(); ok {
				f, err := in.inject(ctx, k)
				if err != nil {
					logf("fault not injected: %v", err)
				} else {
					logf("fault: %s on %s (heal in %s)", f.kind, f.target, time.Until(f.healAt).Round(100*time.Millisecond))
					in.active[k.scope()] = f
					faults = append(faults, f)
				}
			}
			nextFault = time.Now().Add(in.between(2*time.Second, 5*time.Second))
		}
		time.Sleep(200 * time.Millisecond)
	}
	return faults, nil
}

// heal ends the active faults whose time has come, or all of them.
func (in *injector) heal(now time.Time, all bool) {
	for scope, f := range in.active {
		if all || !now.Before(f.healAt) {
			if err := f.heal(); err != nil {
				f.healErrs = append(f.healErrs, err.Error())
				logf("heal %s on %s: %v", f.kind, f.target, err)
			}
			f.healed = time.Now()
			delete(in.active, scope)
		}
	}
}
