package daemon

import (
	"context"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/status"
)

func isTrue(conds []v1alpha1.Condition, t string) bool {
	c := v1alpha1.FindCondition(conds, t)
	return c != nil && c.Status == v1alpha1.ConditionTrue
}

// updateReady sets the controller's Ready condition once every host has
// been reconciled since the start, and the host-state gauges. It reads the
// tracker's counts, kept as hosts change: nothing here walks the fleet.
func (d *Daemon) updateReady(now time.Time) {
	c := d.status.Counts()
	d.m.hosts.WithLabelValues(status.ClassReady).Set(float64(c.Ready))
	d.m.hosts.WithLabelValues(status.ClassQuarantined).Set(float64(c.Quarantined))
	d.m.hosts.WithLabelValues(status.ClassPending).Set(float64(c.Pending))
	d.mu.Lock()
	loaded := d.loaded
	d.mu.Unlock()
	cond := v1alpha1.Condition{Type: v1alpha1.ConditionReady, Status: v1alpha1.ConditionFalse, Reason: "FirstPass"}
	if d.ready.Load() || (loaded && c.Passed == c.Hosts) {
		if !d.ready.Swap(true) {
			d.log.Info("first full pass done", "hosts", c.Hosts)
		}
		cond.Status, cond.Reason = v1alpha1.ConditionTrue, "PassCompleted"
	}
	d.status.SetCondition(cond, now)
}

// writeStatus saves the status to the state directory after changes,
// at most once per StatusWriteDelay (or ten times the last write's
// duration, when longer), from a snapshot: no worker and no reader of the
// status API waits for the disk.
func (d *Daemon) writeStatus(ctx context.Context) {
	if d.opts.StateDir == "" {
		return
	}
	var written uint64
	delay := d.opts.StatusWriteDelay
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.status.Changed():
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		snap := d.status.Snapshot()
		if snap.Version == written {
			continue
		}
		start := time.Now()
		err := saveStatus(d.opts.StateDir, d.savedStatus(snap))
		// A large fleet's file takes a while to encode and sync, and its
		// garbage counts in the controller's peak memory: space the
		// writes so that they stay a tenth of the time at most.
		delay = max(d.opts.StatusWriteDelay, 10*time.Since(start))
		if err != nil {
			d.log.Error("cannot save status", "dir", d.opts.StateDir, "err", err)
			continue
		}
		written = snap.Version
	}
}

// save writes the status now; Run calls it last, after work has stopped.
func (d *Daemon) save() {
	if d.opts.StateDir == "" {
		return
	}
	if err := saveStatus(d.opts.StateDir, d.savedStatus(d.status.Snapshot())); err != nil {
		d.log.Error("cannot save status", "dir", d.opts.StateDir, "err", err)
	}
}

// savedStatus is what the state file holds: the status, and the version
// that wrote it, so that an operator rolling back can tell.
func (d *Daemon) savedStatus(snap *status.Snapshot) *v1alpha1.ControllerStatus {
	st := snap.ControllerStatus()
	st.Version = d.opts.Version
	return st
}
