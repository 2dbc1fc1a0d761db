package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Invariant names, in the report's order.
const (
	invOverlap     = "no overlapping acts"
	invTokens      = "fencing tokens never decrease"
	invFiles       = "no half-written or mixed file"
	invConvergence = "convergence"
	invHalt        = "halted rollout stays in its batch"
	invIntegrity   = "history integrity"
	invLeak        = "no leak"
	invLogs        = "no panic or race"
)

var invariants = []string{invOverlap, invTokens, invFiles, invConvergence, invHalt, invIntegrity, invLeak, invLogs}

// evidence is what the run collected outside the controllers.
type evidence struct {
	acts     map[string][]act     // audit records by host
	attempts map[string][]attempt // validate runs by host
	samples  []sample
	halts    []haltedView
}

// check evaluates every invariant that reads evidence after the run.
func (rep *report) check(c *cluster, gens []generation, ev evidence, warmAt time.Time, policy bool) {
	for _, acts := range ev.acts {
		rep.Acts += len(acts)
		checkActs(rep, acts)
	}
	for host, tries := range ev.attempts {
		rep.Attempts += len(tries)
		for _, a := range tries {
			if a.replica == "none" {
				rep.violate(invTokens, "%s: content validated outside any replica's act: %q", host, a.line)
			}
		}
	}
	checkFiles(rep, c, gens, ev.samples)
	checkHalt(rep, c, gens, ev, policy)
	samples := ev.samples
	for _, r := range c.replicas {
		out, err := exec.Command("sqlite3", r.historyDB(), "PRAGMA integrity_check;").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "ok" {
			rep.violate(invIntegrity, "%s: sqlite3 %s PRAGMA integrity_check: %v %s", r.id, r.historyDB(), err, bytes.TrimSpace(out))
		}
		checkLog(rep, r, warmAt)
	}
	rep.Samples = len(samples)
	rep.Generations = len(gens)
}

// checkActs: on one host, no two acts overlap in time (whichever
// replicas), and fencing tokens never go down.
func checkActs(rep *report, acts []act) {
	var prev *act // the act ending last so far
	var maxTok *act
	for i := range acts {
		a := &acts[i]
		if a.token < 0 {
			rep.violate(invTokens, "%s: unreadable audit line %q", a.host, a.line)
			continue
		}
		if a.replica == "none" || a.token == 0 {
			rep.violate(invTokens, "%s: an act without a replica or fencing token: %q", a.host, a.line)
		}
		if prev != nil && a.start < prev.end {
			rep.violate(invOverlap, "%s: %s (token %d) acted %.3f-%.3f while %s (token %d) acted %.3f-%.3f",
				a.host, a.replica, a.token, a.start, a.end, prev.replica, prev.token, prev.start, prev.end)
		}
		if maxTok != nil && a.token < maxTok.token {
			rep.violate(invTokens, "%s: %s acted at %.3f with token %d after %s acted at %.3f with token %d",
				a.host, a.replica, a.start, a.token, maxTok.replica, maxTok.start, maxTok.token)
		}
		if prev == nil || a.end > prev.end {
			prev = a
		}
		if maxTok == nil || a.token >= maxTok.token {
			maxTok = a
		}
	}
}

// checkFiles: every sampled state of a managed file is one that some
// generation leaves, whole (content, mode and owner together).
func checkFiles(rep *report, c *cluster, gens []generation, samples []sample) {
	valid := map[string]map[fileState]bool{}
	for _, h := range c.hosts {
		conf, extra := map[fileState]bool{}, map[fileState]bool{{}: true}
		for _, g := range gens {
			conf[g.confState(h)] = true
			if g.extra {
				extra[g.extraState(h)] = true
			}
		}
		valid[h.conf()], valid[h.extra()] = conf, extra
	}
	seen := map[string]bool{} // a conf is absent only until it first exists
	reported := 0
	for _, s := range samples {
		ok := valid[s.path][s.state]
		if !s.state.present && !seen[s.path] {
			ok = true
		}
		if s.state.present {
			seen[s.path] = true
		}
		if !ok {
			reported++
			if reported <= 20 {
				rep.violate(invFiles, "%s at %s: %s, which no generation leaves", s.path, s.at.Format("15:04:05.000"), s.raw)
			}
		}
	}
	if reported > 20 {
		rep.violate(invFiles, "... and %d more such samples", reported-20)
	}
}

// checkHalt: while the bad change's rollout is halted, no host outside
// the batches it reached shows the bad generation: in its audit, in an
// attempt to install its content (validate runs even when it rejects), or
// in its file.
func checkHalt(rep *report, c *cluster, gens []generation, ev evidence, policy bool) {
	if !policy {
		rep.HaltVerdict = "not exercised (-rollout=false)"
		return
	}
	var bad *generation
	for i := range gens {
		if gens[i].kind == genBad {
			bad = &gens[i]
		}
	}
	if bad == nil {
		rep.HaltVerdict = "not exercised (no bad change)"
		return
	}
	var fixAt time.Time
	for _, g := range gens {
		if g.n == bad.n+1 {
			fixAt = g.at
		}
	}
	reached := map[string]bool{}
	haltedBy := map[string]bool{}
	for _, h := range ev.halts {
		if h.at.Before(bad.at) || (!fixAt.IsZero() && h.at.After(fixAt)) {
			continue
		}
		haltedBy[h.replica] = true
		for i, batch := range h.ro.Hosts {
			if i < h.ro.Batch {
				for _, name := range batch {
					reached[name] = true
				}
			}
		}
	}
	if len(haltedBy) == 0 {
		rep.HaltVerdict = "not exercised (no replica reported the bad change's rollout halted)"
		rep.note("halted rollout: no replica reported %s's rollout Halted before its fix", bad.name())
		return
	}
	var ids []string
	for id := range haltedBy {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	rep.HaltVerdict = fmt.Sprintf("halted on %s; %d hosts in the batches reached", strings.Join(ids, ","), len(reached))
	badConf := map[string]fileState{}
	for _, h := range c.hosts {
		badConf[h.conf()] = bad.confState(h)
		if reached[h.name] {
			continue
		}
		for _, a := range ev.acts[h.name] {
			if a.gen == bad.name() {
				rep.violate(invHalt, "%s is past the halted batches, yet %s acted on it with %s (bad) at %.3f: %q",
					h.name, a.replica, bad.name(), a.start, a.line)
			}
		}
		for _, a := range ev.attempts[h.name] {
			if a.gen == bad.name() {
				rep.violate(invHalt, "%s is past the halted batches, yet %s tried to install %s (bad) at %.3f: %q",
					h.name, a.replica, bad.name(), a.at, a.line)
			}
		}
	}
	for _, s := range ev.samples {
		name := strings.TrimPrefix(strings.TrimSuffix(s.path, "/conf"), srvDir+"/")
		if want, ok := badConf[s.path]; ok && !reached[name] && s.state == want {
			rep.violate(invHalt, "%s is past the halted batches, yet its conf held %s's content at %s", name, bad.name(), s.at.Format("15:04:05.000"))
		}
	}
}

var (
	panicRe = regexp.MustCompile(`(?m)^(panic: |fatal error: |WARNING: DATA RACE|goroutine \d+ \[running\]:)`)
	takenRe = regexp.MustCompile(`"msg":"host taken over by this replica"`)
)

// checkLog: no panic, fatal error or data race in any of the replica's
// lives; counts its takeovers after warm-up.
func checkLog(rep *report, r *replica, warmAt time.Time) {
	b, err := os.ReadFile(r.logPath)
	if err != nil {
		rep.violate(invLogs, "%s: %v", r.id, err)
		return
	}
	for _, m := range panicRe.FindAllIndex(b, 5) {
		end := min(len(b), m[0]+400)
		rep.violate(invLogs, "%s: %s", r.id, b[m[0]:end])
	}
	stamp := warmAt.UTC().Format(time.RFC3339)
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		if takenRe.Match(line) && logTime(line) >= stamp {
			rep.Takeovers++
		}
	}
}

var timeRe = regexp.MustCompile(`"time":"([^"]+)"`)

// logTime is a JSON log line's time in UTC, comparable as a string.
func logTime(line []byte) string {
	m := timeRe.FindSubmatch(line)
	if m == nil {
		return ""
	}
	t, err := time.Parse(time.RFC3339Nano, string(m[1]))
	if err != nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// checkLeak: a replica's RSS and goroutines at the end, after the fleet
// converged again, within a bound of their values after warm-up. The bound
// allows for a larger share of the hosts at the end (takeovers move hosts,
// and the ring's load bound is 1.25 × the mean share; each kept host costs a
// few goroutines) and for the race detector's shadow memory.
func (rep *report) checkLeak(id string, warm, end procStats) {
	rep.Procs = append(rep.Procs, procFigures{ID: id, Warm: warm, End: end})
	share := rep.Hosts / max(1, rep.Replicas)
	if maxG := warm.Goroutines*3/2 + 50 + 4*share; end.Goroutines > maxG {
		rep.violate(invLeak, "%s: %d goroutines at the end, %d after warm-up (bound %d)", id, end.Goroutines, warm.Goroutines, maxG)
	}
	if maxR := warm.RSSKiB*3/2 + 64<<10; end.RSSKiB > maxR {
		rep.violate(invLeak, "%s: RSS %d KiB at the end, %d after warm-up (bound %d)", id, end.RSSKiB, warm.RSSKiB, maxR)
	}
}
