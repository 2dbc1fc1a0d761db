package main

import (
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/test/testhost"
)

func TestCheckActs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		acts  []act
		wants []string // substrings of the violations, in order
	}{
		{name: "one after another, tokens rising", acts: []act{
			{host: "h1", replica: "r1", token: 5, start: 1, end: 2},
			{host: "h1", replica: "r2", token: 9, start: 2.5, end: 3},
			{host: "h1", replica: "r2", token: 9, start: 4, end: 5},
		}},
		{name: "overlap", acts: []act{
			{host: "h1", replica: "r1", token: 5, start: 1, end: 3},
			{host: "h1", replica: "r2", token: 9, start: 2, end: 4},
		}, wants: []string{"r2 (token 9) acted 2.000-4.000 while r1 (token 5) acted 1.000-3.000"}},
		{name: "overlap with an earlier long act", acts: []act{
			{host: "h1", replica: "r1", token: 5, start: 1, end: 10},
			{host: "h1", replica: "r1", token: 5, start: 2, end: 3},
			{host: "h1", replica: "r2", token: 9, start: 4, end: 5},
		}, wants: []string{"while r1", "r2 (token 9) acted 4.000-5.000 while r1 (token 5) acted 1.000-10.000"}},
		{name: "token goes down", acts: []act{
			{host: "h1", replica: "r1", token: 9, start: 1, end: 2},
			{host: "h1", replica: "r2", token: 5, start: 3, end: 4},
		}, wants: []string{"r2 acted at 3.000 with token 5 after r1 acted at 1.000 with token 9"}},
		{name: "no token", acts: []act{{host: "h1", replica: "none", token: 0, start: 1, end: 2}},
			wants: []string{"without a replica or fencing token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := &report{}
			checkActs(rep, tc.acts)
			var got []string
			for _, inv := range invariants {
				got = append(got, rep.Violations[inv]...)
			}
			if len(got) != len(tc.wants) {
				t.Fatalf("violations %q, want %d", got, len(tc.wants))
			}
			for i, w := range tc.wants {
				if !strings.Contains(got[i], w) {
					t.Errorf("violation %q does not say %q", got[i], w)
				}
			}
		})
	}
}

func TestCheckFiles(t *testing.T) {
	h := fleetHost{name: "h1", th: &testhost.Host{Container: "c1"}}
	g1 := generation{n: 1}
	g2 := generation{n: 2, extra: true}
	good1, good2 := g1.confState(h), g2.confState(h)
	mixed := good2
	mixed.mode, mixed.owner = good1.mode, good1.owner // g2's content, g1's mode and owner
	at := time.Unix(1_700_000_000, 0)
	samples := []sample{
		{at: at, path: h.conf()},                           // absent before it first exists: fine
		{at: at, path: h.conf(), state: good1},             // g1
		{at: at, path: h.extra(), state: g2.extraState(h)}, // g2's extra
		{at: at, path: h.conf(), state: good2},             // g2
		{at: at, path: h.conf(), state: mixed, raw: "mixed"},
		{at: at, path: h.conf(), raw: "gone"}, // absent after it existed
		{at: at, path: h.conf(), state: fileState{present: true, sha: "0123456789abcdef", mode: "640", owner: "root", group: "root"}, raw: "half"},
	}
	rep := &report{}
	checkFiles(rep, &cluster{hosts: []fleetHost{h}}, []generation{g1, g2}, samples)
	got := rep.Violations[invFiles]
	if len(got) != 3 || !strings.Contains(got[0], "mixed") || !strings.Contains(got[1], "gone") || !strings.Contains(got[2], "half") {
		t.Fatalf("violations %q, want the mixed, the vanished and the half-written samples", got)
	}
}

func TestParseSampleMatchesConfState(t *testing.T) {
	h := fleetHost{name: "h1", th: &testhost.Host{Container: "c1"}}
	want := generation{n: 2}.confState(h)
	line := "1700000000.250 " + h.conf() + " " + want.sha + " 604 deploy operator"
	s, ok := parseSample(line)
	if !ok || s.state != want || s.path != h.conf() {
		t.Fatalf("parseSample(%q) = %+v, %v; want %+v", line, s, ok, want)
	}
	if s, ok := parseSample("1700000000.5 /srv/x absent"); !ok || s.state.present {
		t.Fatalf("absent: %+v %v", s, ok)
	}
}

func TestDiffSummaryKeepsHostAndResourceLines(t *testing.T) {
	out := "Plan (cycle 1): 2 actions on 1 hosts\nh1\n  ~ File/conf-h1: update\n      +content line\n      +content line\n"
	got := diffSummary(out, 2)
	if got != "Plan (cycle 1): 2 actions on 1 hosts\nh1\n... 1 more lines" {
		t.Fatalf("diffSummary = %q", got)
	}
}

func TestPickGivesEveryKindOncePerRound(t *testing.T) {
	in := &injector{rng: newRand(1), active: map[string]*fault{"container": {}}}
	seen := map[faultKind]int{}
	for range len(allFaults) - 4 {
		k, ok := in.pick()
		if !ok {
			t.Fatal("no kind picked while some scopes are free")
		}
		if k.scope() == "container" {
			t.Fatalf("picked %s while a container fault is active", k)
		}
		seen[k]++
	}
	if _, ok := in.pick(); ok {
		t.Fatal("picked a container fault while one is active")
	}
	delete(in.active, "container")
	for range 4 {
		k, _ := in.pick()
		seen[k]++
	}
	for _, k := range allFaults {
		if seen[k] != 1 {
			t.Errorf("%s picked %d times in one round", k, seen[k])
		}
	}
}

func TestCheckHaltFlagsHostsPastTheHaltedBatches(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	var hosts []fleetHost
	for i, name := range []string{"h1", "h2", "h3", "h4"} {
		hosts = append(hosts, fleetHost{name: name, index: i, th: &testhost.Host{Container: "c1"}})
	}
	gens := []generation{{n: 1, at: t0}, {n: 2, kind: genBad, at: t0.Add(time.Second)}, {n: 3, kind: genFix, at: t0.Add(time.Minute)}}
	halt := haltedView{replica: "r1", at: t0.Add(10 * time.Second)}
	halt.ro.Batch, halt.ro.Hosts = 1, [][]string{{"h1", "h2"}, {"h3", "h4"}}
	ev := evidence{
		halts: []haltedView{halt},
		acts: map[string][]act{
			"h2": {{host: "h2", gen: "g2", replica: "r1", token: 3}},  // in the reached batch: fine
			"h3": {{host: "h3", gen: "g1", replica: "r1", token: 3}},  // the previous generation: fine
			"h4": {{host: "h4", gen: "g3", replica: "r1", token: 3}}}, // the fix: fine
		attempts: map[string][]attempt{"h3": {{host: "h3", gen: "g2", replica: "r2", at: 12, line: "g2 r2 7 12"}}},
		samples:  []sample{{at: t0.Add(20 * time.Second), path: hosts[3].conf(), state: gens[1].confState(hosts[3])}},
	}
	rep := &report{}
	checkHalt(rep, &cluster{hosts: hosts}, gens, ev, true)
	got := rep.Violations[invHalt]
	if len(got) != 2 || !strings.Contains(got[0], "h3 is past the halted batches, yet r2 tried to install g2") ||
		!strings.Contains(got[1], "h4 is past the halted batches, yet its conf held g2") {
		t.Fatalf("violations %q", got)
	}
	if !strings.HasPrefix(rep.HaltVerdict, "halted on r1; 2 hosts") {
		t.Fatalf("verdict %q", rep.HaltVerdict)
	}

	rep = &report{}
	ev.halts = nil
	checkHalt(rep, &cluster{hosts: hosts}, gens, ev, true)
	if len(rep.Violations) != 0 || !strings.HasPrefix(rep.HaltVerdict, "not exercised") {
		t.Fatalf("without a halt: %q %q", rep.Violations, rep.HaltVerdict)
	}
}
