package controller

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/transport"
)

// act runs the host's planned actions in one round trip. An action runs only
// when every earlier action of its resource and of the resources it depends
// on succeeded, so a failure skips exactly what depends on it.
func (e *Engine) act(ctx context.Context, r *hostRun) {
	if len(r.plan) == 0 {
		return
	}
	// A resource that failed to plan fails the host once the rest has run.
	defer func() {
		if r.quarantine == nil && r.planErr != nil {
			r.quarantine = r.planErr
		}
	}()
	cmds, slot := e.commands(r)
	if len(cmds) == 0 {
		return
	}
	post := 0
	if e.Inventory != nil && r.inv != nil {
		cmds, slot, post = e.withInventory(r, cmds, slot)
		defer r.notePruned()
	}
	r.roundTrips++
	// Actions already on their way finish even when the run is interrupted.
	results, err := r.conn.Batch(context.WithoutCancel(ctx), cmds)
	if err != nil {
		e.broken(r)
		for i := range r.plan {
			if r.plan[i].Status == StatusPlanned {
				r.plan[i].Status = StatusFailed
				r.plan[i].Err = fmt.Errorf("not confirmed: %w", err)
			}
		}
		r.quarantine = fmt.Errorf("act: %w", err)
		return
	}
	var firstFailure error
	for i := range r.plan {
		if slot[i] < 0 {
			continue // failed or skipped while planning
		}
		res, pa := results[slot[i]], &r.plan[i]
		switch {
		case res.Skipped:
			pa.Status = StatusSkipped
			pa.Err = ErrDependencyFailed
			r.skipped++
		case res.ExitCode != 0:
			pa.Status = StatusFailed
			pa.Err = newActionError(res)
			r.failed++
			if firstFailure == nil {
				firstFailure = fmt.Errorf("%s: %s: %w", pa.Resource, pa.Description, pa.Err)
			}
		default:
			pa.Status = StatusOK
			r.changed++
			r.changedRefs[pa.Resource] = true
		}
	}
	if e.Inventory != nil && r.inv != nil {
		// The inventory's own commands: the write first, the clean-ups last.
		own := append([]transport.Result{results[0]}, results[len(results)-post:]...)
		for _, res := range own {
			if !res.Skipped && res.ExitCode != 0 && firstFailure == nil {
				firstFailure = fmt.Errorf("inventory %s: %w", InventoryPath(e.Inventory.Set), newActionError(res))
			}
		}
	}
	if firstFailure != nil {
		r.quarantine = firstFailure
	}
}

// commands turns the host's plan into the batch to send. slot[i] is the
// command that carries planned action i: actions a Combiner merges share
// one. Each command runs only when every earlier command of its resources
// and of the resources they depend on succeeded.
func (e *Engine) commands(r *hostRun) ([]transport.Command, []int) {
	groupOf := e.combinable(r)
	byResource := map[v1alpha1.ResourceRef][]int{}
	var cmds []transport.Command
	slot := make([]int, len(r.plan))
	for i, pa := range r.plan {
		if pa.Status != StatusPlanned {
			slot[i] = -1
			continue
		}
		members := []int{i}
		if g, ok := groupOf[i]; ok {
			if g[len(g)-1] != i {
				continue // sent with the last member of its group
			}
			members = g
		}
		seen := map[int]bool{}
		var after []int
		for _, j := range members {
			res := r.plan[j].Resource
			for _, idx := range byResource[res] {
				seen[idx] = true
			}
			for _, d := range r.deps[res] {
				for _, idx := range byResource[d] {
					seen[idx] = true
				}
			}
		}
		for idx := range seen {
			after = append(after, idx)
		}
		sort.Ints(after)
		cmd := transport.Command{Script: pa.Script, Stdin: pa.Stdin, After: after}
		if len(members) > 1 {
			var items []string
			have := map[string]bool{}
			for _, j := range members {
				for _, it := range r.plan[j].items {
					if !have[it] {
						have[it] = true
						items = append(items, it)
					}
				}
			}
			c, _ := e.Registry.Combiner(pa.Resource.Kind)
			cmd.Script = c.Combine(pa.combine, items)
		}
		idx := len(cmds)
		cmds = append(cmds, cmd)
		for _, j := range members {
			slot[j] = idx
			byResource[r.plan[j].Resource] = append(byResource[r.plan[j].Resource], idx)
		}
	}
	return cmds, slot
}

// combinable finds the groups of planned actions to merge: same kind, same
// Combine key, a Combiner reconciler, no stdin, and nothing planned between
// the first and the last member that depends on a member or belongs to one
// of their resources (the merged command runs where the last member was).
func (e *Engine) combinable(r *hostRun) map[int][]int {
	byKey := map[string][]int{}
	var keys []string
	for i, pa := range r.plan {
		if pa.combine == "" || pa.Stdin != nil || pa.Status != StatusPlanned {
			continue
		}
		k := pa.Resource.Kind + "\x00" + pa.combine
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], i)
	}
	groupOf := map[int][]int{}
	for _, k := range keys {
		g := byKey[k]
		if len(g) < 2 {
			continue
		}
		inGroup, members := map[int]bool{}, map[v1alpha1.ResourceRef]bool{}
		for _, i := range g {
			inGroup[i] = true
			members[r.plan[i].Resource] = true
		}
		safe := true
		for k := g[0] + 1; k < g[len(g)-1] && safe; k++ {
			if inGroup[k] {
				continue
			}
			if members[r.plan[k].Resource] {
				safe = false
			}
			for _, d := range r.deps[r.plan[k].Resource] {
				if members[d] {
					safe = false
				}
			}
		}
		if safe {
			for _, i := range g {
				groupOf[i] = g
			}
		}
	}
	return groupOf
}

// ErrDependencyFailed is why an action was skipped.
var ErrDependencyFailed = errors.New("skipped: a resource it depends on failed")

// ActionError is an action whose command exited non-zero on the host.
type ActionError struct {
	ExitCode int
	// Output is the command's standard error (or, when empty, its standard
	// output), trimmed to 500 bytes. It may echo a secret: show it scrubbed.
	Output string
}

func newActionError(res transport.Result) *ActionError {
	msg := strings.TrimSpace(string(res.Stderr))
	if msg == "" {
		msg = strings.TrimSpace(string(res.Stdout))
	}
	if len(msg) > 500 {
		msg = msg[:500] + "..."
	}
	return &ActionError{ExitCode: res.ExitCode, Output: msg}
}

func (e *ActionError) Error() string {
	if e.Output == "" {
		return fmt.Sprintf("exit status %d", e.ExitCode)
	}
	return fmt.Sprintf("exit status %d: %s", e.ExitCode, e.Output)
}
