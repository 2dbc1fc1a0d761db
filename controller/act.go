package controller

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/transport"
)

// act runs the host's planned actions in one round trip. An action runs only
// when every earlier action of its resource and of the resources it depends
// on succeeded, so a failure skips exactly what depends on it. When a command
// that merges several actions fails, a second round trip runs each of them
// alone (see retry), so that only those that fail on their own fail.
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
	var env []EnvVar
	if e.Fence != nil {
		var err error
		if env, err = e.Fence(ctx, r.host.Metadata.Name); err != nil {
			for i := range r.plan {
				if r.plan[i].Status == StatusPlanned {
					r.plan[i].Status = StatusSkipped
					r.plan[i].Err = err
				}
			}
			r.quarantine = err
			return
		}
	}
	post := 0
	inventory := r.inv.loaded()
	if inventory {
		cmds, slot, post = withInventory(r, cmds, slot)
		defer r.notePruned()
	}
	if len(env) > 0 {
		var prefix strings.Builder
		for _, v := range env {
			fmt.Fprintf(&prefix, "export %s=%s; ", v.Name, transport.Quote(v.Value))
		}
		for i := range cmds {
			cmds[i].Script = prefix.String() + cmds[i].Script
		}
	}
	r.roundTrips++
	all := func(int) bool { return true }
	bctx, cancel := e.actContext(ctx, r, all)
	results, err := r.conn.Batch(bctx, cmds)
	why := stopCause(err, bctx)
	cancel()
	if err != nil {
		if why != nil {
			e.cut(ctx, r, err, why, results, slot, all)
		} else {
			e.lostMidway(r, err, results, slot, all)
		}
		return
	}
	outcome := make([]transport.Result, len(r.plan))
	for i, s := range slot {
		if s >= 0 {
			outcome[i] = results[s]
		}
	}
	var own []transport.Result // the inventory's own commands
	if inventory {
		// The write first, the clean-ups last.
		own = append([]transport.Result{results[0]}, results[len(results)-post:]...)
	}
	var more retried
	if !inventory || results[0].OK() {
		if more, err = e.retry(ctx, r, slot, results, outcome); err != nil {
			// The first round trip's outcomes stand; what was sent again
			// is unknown until the host is observed again.
			e.lostMidway(r, err, nil, slot, more.has)
		}
		own = append(own, more.own...)
	}
	var firstFailure error
	for i := range r.plan {
		if slot[i] < 0 || (err != nil && more.has(i)) {
			continue // failed or skipped while planning, or lost
		}
		res, pa := outcome[i], &r.plan[i]
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
	for _, res := range own {
		if !res.Skipped && res.ExitCode != 0 && firstFailure == nil {
			firstFailure = fmt.Errorf("inventory %s: %w", r.inv.path, newActionError(res))
		}
	}
	if firstFailure != nil && r.quarantine == nil {
		r.quarantine = firstFailure
	}
}

// retried is what retry sent: the planned actions it ran again and the
// results of the inventory clean-ups that went with them.
type retried struct {
	sent []bool
	own  []transport.Result
}

func (m retried) has(i int) bool { return m.sent != nil && m.sent[i] }

// retry is the fallback of the Combiner contract. A merged command succeeds
// or fails as a whole, yet its members are separate resources: when one
// failed (or was skipped because the prerequisite of one member failed),
// each member's own action runs alone in a second round trip, followed by
// the actions skipped only because of it. A member whose own action fails
// fails with its own output; the others succeed, and what depends only on
// them runs. Nothing is sent again when no merged command failed, so the
// success path keeps one round trip. outcome holds each planned action's
// result and is updated with the second round trip's.
func (e *Engine) retry(ctx context.Context, r *hostRun, slot []int, results []transport.Result, outcome []transport.Result) (retried, error) {
	members := map[int]int{}
	for _, s := range slot {
		if s >= 0 {
			members[s]++
		}
	}
	again := false
	for s, n := range members {
		again = again || (n > 1 && !results[s].OK())
	}
	if !again {
		return retried{}, nil
	}
	// An action is sent again when it did not succeed only because of a
	// merged command: it was a member of one that failed, or it was skipped
	// and every prerequisite of its own either succeeded or is sent again.
	idx := make([]int, len(r.plan)) // planned action -> command of the second batch
	var cmds []transport.Command
	for i, pa := range r.plan {
		idx[i] = -1
		s := slot[i]
		if s < 0 || results[s].OK() || (!results[s].Skipped && members[s] == 1) {
			continue
		}
		var after []int
		ready := true
		for j := 0; j < i && ready; j++ {
			if slot[j] < 0 || !r.prerequisite(j, i) {
				continue
			}
			switch {
			case idx[j] >= 0:
				after = append(after, idx[j])
			case !results[slot[j]].OK():
				ready = false
			}
		}
		if !ready {
			continue
		}
		idx[i] = len(cmds)
		cmds = append(cmds, transport.Command{Script: pa.Script, Stdin: pa.Stdin, After: after})
	}
	if len(cmds) == 0 {
		return retried{}, nil
	}
	post := 0
	if r.inv.loaded() {
		cleanups := inventoryCleanups(r, idx, nil)
		post = len(cleanups)
		cmds = append(cmds, cleanups...)
	}
	out := retried{sent: make([]bool, len(r.plan))}
	for i := range idx {
		out.sent[i] = idx[i] >= 0
	}
	r.roundTrips++
	bctx, cancel := e.actContext(ctx, r, out.has)
	defer cancel()
	res, err := r.conn.Batch(bctx, cmds)
	if err != nil {
		return out, err
	}
	for i := range idx {
		if idx[i] >= 0 {
			outcome[i] = res[idx[i]]
		}
	}
	out.own = res[len(res)-post:]
	return out, nil
}

// prerequisite reports whether planned action j must succeed before
// planned action i runs: j is of i's resource or of one it depends on.
func (r *hostRun) prerequisite(j, i int) bool {
	if r.plan[j].Resource == r.plan[i].Resource {
		return true
	}
	for _, d := range r.deps[r.plan[i].Resource] {
		if d == r.plan[j].Resource {
			return true
		}
	}
	return false
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
	// output), trimmed to its last 500 bytes: a command that says much
	// (a package manager's progress) says what went wrong last. It may echo
	// a secret: show it scrubbed.
	Output string
}

func newActionError(res transport.Result) *ActionError {
	msg := strings.TrimSpace(string(res.Stderr))
	if msg == "" {
		msg = strings.TrimSpace(string(res.Stdout))
	}
	if len(msg) > 500 {
		cut := len(msg) - 500
		for cut < len(msg) && !utf8.RuneStart(msg[cut]) {
			cut++
		}
		msg = "..." + msg[cut:]
	}
	return &ActionError{ExitCode: res.ExitCode, Output: msg}
}

func (e *ActionError) Error() string {
	if e.Output == "" {
		return fmt.Sprintf("exit status %d", e.ExitCode)
	}
	return fmt.Sprintf("exit status %d: %s", e.ExitCode, e.Output)
}
