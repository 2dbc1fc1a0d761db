package main

import (
	"context"
	"sync"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// hostView is a host as the fleet status showed it at one moment.
type hostView struct {
	ready   bool
	lastRun time.Time // start of its last converged reconcile
}

type snapshot struct {
	at    time.Time
	hosts map[string]hostView
}

// haltedView is a halted rollout as one replica served it.
type haltedView struct {
	replica string
	at      time.Time
	ro      v1alpha1.RolloutStatus
}

// watcher polls the replicas' status API during the run: the fleet's Ready
// hosts (for the time each host stays unconverged after a fault) and the
// rollouts (for the halted-rollout invariant).
type watcher struct {
	replicas []*replica
	mu       sync.Mutex
	snaps    []snapshot
	halted   []haltedView
	wg       sync.WaitGroup
}

func startWatcher(ctx context.Context, replicas []*replica) *watcher {
	w := &watcher{replicas: replicas}
	w.wg.Go(func() {
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		i := 0
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			i++
			w.poll(i)
		}
	})
	return w
}

func (w *watcher) poll(i int) {
	// Status from one live replica (each serves the whole fleet), in turn.
	for k := range w.replicas {
		r := w.replicas[(i+k)%len(w.replicas)]
		if !r.live() {
			continue
		}
		if st := r.Status(); st != nil {
			snap := snapshot{at: time.Now(), hosts: map[string]hostView{}}
			for _, h := range st.Hosts {
				v := hostView{}
				if c := v1alpha1.FindCondition(h.Conditions, v1alpha1.ConditionReady); c != nil && c.Status == v1alpha1.ConditionTrue {
					v.ready = true
				}
				if h.LastRun != nil && h.LastRun.Result == "converged" {
					v.lastRun = h.LastRun.Start
				}
				snap.hosts[h.Name] = v
			}
			w.mu.Lock()
			w.snaps = append(w.snaps, snap)
			w.mu.Unlock()
			break
		}
	}
	for _, r := range w.replicas {
		if !r.live() {
			continue
		}
		if ro := r.Rollout(); ro != nil && ro.Phase == v1alpha1.RolloutHalted {
			w.mu.Lock()
			w.halted = append(w.halted, haltedView{replica: r.id, at: time.Now(), ro: *ro})
			w.mu.Unlock()
		}
	}
}

func (w *watcher) snapshots() []snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]snapshot(nil), w.snaps...)
}

func (w *watcher) halts() []haltedView {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]haltedView(nil), w.halted...)
}

// convergedAfter is when host was first seen Ready after a converged
// reconcile that started after t; zero when never.
func convergedAfter(snaps []snapshot, host string, t time.Time) time.Time {
	for _, s := range snaps {
		if v := s.hosts[host]; !s.at.Before(t) && v.ready && !v.lastRun.Before(t) {
			return s.at
		}
	}
	return time.Time{}
}
