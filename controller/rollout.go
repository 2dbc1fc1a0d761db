package controller

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/semaphore"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// Size is a number of hosts, absolute or as a percentage of the hosts of a
// run.
type Size struct {
	N       int
	Percent bool
}

// ParseSize reads "N" or "N%". A percentage is at most 100.
func ParseSize(s string) (Size, error) {
	s = strings.TrimSpace(s)
	num, pct := strings.CutSuffix(s, "%")
	n, err := strconv.Atoi(num)
	switch {
	case err != nil || n < 0:
		return Size{}, fmt.Errorf("%q is not a number of hosts: write N or N%% (10, 25%%)", s)
	case pct && n > 100:
		return Size{}, fmt.Errorf("%q: a percentage is at most 100%%", s)
	}
	return Size{N: n, Percent: pct}, nil
}

func (s Size) String() string {
	if s.Percent {
		return strconv.Itoa(s.N) + "%"
	}
	return strconv.Itoa(s.N)
}

// ParseBatches reads batch sizes, each value either one size or a
// comma-separated list ("1,10%,50%,100%"). A batch holds at least one host.
func ParseBatches(values []string) ([]Size, error) {
	var out []Size
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			s, err := ParseSize(part)
			if err != nil {
				return nil, err
			}
			if s.N == 0 {
				return nil, fmt.Errorf("%q: a batch holds at least one host", strings.TrimSpace(part))
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// Rollout stages acting in batches under a failure budget. Observe is not
// staged: it is read-only, so every host is observed at once.
type Rollout struct {
	// Batches are the batch sizes in order; a percentage is of all the
	// run's hosts, rounded up. The last size repeats until every host has
	// had its batch; none means one batch of every host.
	Batches []Size
	// MaxFail is how many hosts may fail (quarantined, unreachable ones
	// included) over the whole run before no new host is acted on. A
	// percentage is of all the run's hosts; 100% never stops.
	MaxFail Size
}

// Split cuts n hosts, in order, into batch sizes that add up to n.
func (ro *Rollout) Split(n int) []int {
	if ro == nil || len(ro.Batches) == 0 {
		if n == 0 {
			return nil
		}
		return []int{n}
	}
	var out []int
	for i, left := 0, n; left > 0; i++ {
		s := ro.Batches[min(i, len(ro.Batches)-1)]
		size := s.N
		if s.Percent {
			size = max(1, (n*s.N+99)/100)
		}
		size = min(size, left)
		out = append(out, size)
		left -= size
	}
	return out
}

// Exceeded reports whether failed hosts out of total spend more than the
// budget.
func (ro *Rollout) Exceeded(failed, total int) bool {
	if ro == nil {
		return false
	}
	if ro.MaxFail.Percent {
		return failed*100 > ro.MaxFail.N*total
	}
	return failed > ro.MaxFail.N
}

// RolloutReport is what a staged run did batch by batch.
type RolloutReport struct {
	// Batches are the hosts of each batch, in order.
	Batches [][]string `json:"batches"`
	// Budget is the failure budget as given ("1", "10%").
	Budget string `json:"budget"`
	// Reached is the number of batches that were started.
	Reached int `json:"reached"`
	// Failed counts the failed or unreachable hosts of the batches reached.
	Failed int `json:"failed"`
	// Total is the number of hosts of the run.
	Total int `json:"total"`
	// Stopped is true when the budget was spent and hosts were left alone.
	Stopped bool `json:"stopped"`
	// Untouched are the hosts with actions pending that the stop left alone.
	Untouched []string `json:"untouched,omitempty"`
}

// StopMessage says why the rollout stopped, for the person at the terminal;
// empty when it did not.
func (r *RolloutReport) StopMessage() string {
	if r == nil || !r.Stopped {
		return ""
	}
	return fmt.Sprintf("stopped: %d of %d hosts failed (budget %s)", r.Failed, r.Total, r.Budget)
}

// stage orders runs into batches: hosts keep the order they were given in
// (the manifest's, so the first Host is the canary), and each run learns its
// batch. Without a rollout every run is one batch, in name order.
func (e *Engine) stage(hosts []*v1alpha1.Host, runs []*hostRun) [][]*hostRun {
	if e.Rollout == nil {
		if len(runs) == 0 {
			return nil
		}
		return [][]*hostRun{runs}
	}
	pos := make(map[string]int, len(hosts))
	for i, h := range hosts {
		pos[h.Metadata.Name] = i
	}
	ordered := append([]*hostRun(nil), runs...)
	sort.SliceStable(ordered, func(i, j int) bool { return pos[ordered[i].host.Metadata.Name] < pos[ordered[j].host.Metadata.Name] })
	var batches [][]*hostRun
	at := 0
	for i, n := range e.Rollout.Split(len(ordered)) {
		b := ordered[at : at+n]
		for _, r := range b {
			r.batch = i + 1
		}
		sort.Slice(b, func(i, j int) bool { return b[i].host.Metadata.Name < b[j].host.Metadata.Name })
		batches = append(batches, b)
		at += n
	}
	// The report lists hosts batch by batch.
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].batch < runs[j].batch })
	return batches
}

// budget counts the failed hosts of the batches reached so far. failed is
// exact between phases (recount) and kept up to date by actAll while hosts
// act, under mu.
type budget struct {
	rollout *Rollout
	total   int
	mu      sync.Mutex
	reached map[*hostRun]bool
	failed  int
}

// reach adds a batch to the hosts that count.
func (b *budget) reach(batch []*hostRun) {
	if b.reached == nil {
		b.reached = map[*hostRun]bool{}
	}
	for _, r := range batch {
		b.reached[r] = true
	}
	b.recount()
}

// recount counts the failed hosts again; only between phases, when no host
// is being worked on.
func (b *budget) recount() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failed = 0
	for r := range b.reached {
		if r.quarantine != nil {
			b.failed++
		}
	}
}

func (b *budget) exceeded() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rollout.Exceeded(b.failed, b.total)
}

// actAll acts on every healthy host of batch, at most parallel at once. Once
// the budget is spent no new host starts: one already acted on in an earlier
// cycle is in flight and finishes converging, one never acted on is held.
func (e *Engine) actAll(ctx context.Context, obs Observer, batch []*hostRun, parallel int, b *budget) {
	// A semaphore rather than an errgroup: the budget is read only once a
	// place is free, so that the hosts that failed meanwhile count.
	sem := semaphore.NewWeighted(int64(parallel))
	var wg sync.WaitGroup
	for _, r := range batch {
		if r.quarantine != nil || r.held || len(r.plan) == 0 {
			continue
		}
		_ = sem.Acquire(context.Background(), 1) // cannot fail without a deadline
		if !r.acted && b.exceeded() {
			r.held = true
			sem.Release(1)
			continue
		}
		r.acted = true
		wg.Add(1)
		go func() {
			defer func() { sem.Release(1); wg.Done() }()
			phase(obs, r, PhaseAct, func() { e.act(ctx, r) })
			if r.quarantine != nil {
				b.mu.Lock()
				b.failed++
				b.mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
