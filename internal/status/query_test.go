package status

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// fleet returns a tracker of n hosts h000.. with every third host ready
// and every fifth quarantined (ready wins), and their labels: role=web on
// even hosts, role=db on odd ones.
func labelledFleet(t testing.TB, n int) (*Tracker, LabelFunc) {
	t.Helper()
	tr := New()
	targets := make([]Target, n)
	labels := map[string]map[string]string{}
	for i := range targets {
		targets[i] = Target{Name: fmt.Sprintf("h%03d", i)}
		labels[targets[i].Name] = map[string]string{"role": []string{"web", "db"}[i%2], "zone": "a"}
	}
	now := time.Now()
	tr.SetManifests(targets, nil, now)
	for i := range targets {
		var c v1alpha1.Condition
		switch {
		case i%3 == 0:
			c = v1alpha1.Condition{Type: v1alpha1.ConditionReady, Status: v1alpha1.ConditionTrue}
		case i%5 == 0:
			c = v1alpha1.Condition{Type: v1alpha1.ConditionQuarantined, Status: v1alpha1.ConditionTrue}
		default:
			continue
		}
		tr.UpdateHost(targets[i].Name, now, func(h *Host) { h.Status.Conditions = v1alpha1.SetCondition(h.Status.Conditions, c, now) })
	}
	return tr, func(h string) map[string]string { return labels[h] }
}

func query(t *testing.T, raw string) Query {
	t.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	q, err := ParseQuery(v)
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return q
}

func pageNames(p Page) []string {
	var out []string
	for _, h := range p.Hosts {
		out = append(out, h.Status.Name)
	}
	return out
}

// TestPagesFollowNameOrderWhileHostsChange: pages are cut in name order;
// a host added or removed between pages neither repeats nor skips any
// host that stayed, and the last page has no continue token.
func TestPagesFollowNameOrderWhileHostsChange(t *testing.T) {
	tr, labels := labelledFleet(t, 25)
	p := tr.Page(query(t, "limit=10"), labels)
	if got := pageNames(p); len(got) != 10 || got[0] != "h000" || got[9] != "h009" || p.Continue == "" {
		t.Fatalf("first page %v, continue %q", got, p.Continue)
	}
	if p.Total != 25 || p.Remaining != 15 {
		t.Errorf("first page total %d remaining %d, want 25 and 15", p.Total, p.Remaining)
	}
	// Between pages: one host added before the cursor, one after, one removed.
	var targets []Target
	for _, h := range tr.Snapshot().Hosts {
		if h.Status.Name != "h012" {
			targets = append(targets, Target{Name: h.Status.Name})
		}
	}
	targets = append(targets, Target{Name: "h005x"}, Target{Name: "h015x"})
	tr.SetManifests(targets, nil, time.Now())

	seen := pageNames(p)
	for p.Continue != "" {
		p = tr.Page(query(t, "limit=10&continue="+url.QueryEscape(p.Continue)), labels)
		seen = append(seen, pageNames(p)...)
	}
	if !slices.IsSorted(seen) || len(slices.Compact(slices.Clone(seen))) != len(seen) {
		t.Errorf("hosts listed out of order or twice: %v", seen)
	}
	if slices.Contains(seen, "h012") || !slices.Contains(seen, "h015x") || slices.Contains(seen, "h005x") {
		t.Errorf("after the change: h012 removed, h015x added after the cursor, h005x before it; listed %v", seen)
	}
	if len(seen) != 25 || p.Remaining != 0 {
		t.Errorf("listed %d hosts (remaining %d), want 25 and 0: %v", len(seen), p.Remaining, seen)
	}
}

// TestPageFilters: state, label and host filters each narrow the list,
// together too, and paging within a filter keeps it.
func TestPageFilters(t *testing.T) {
	tr, labels := labelledFleet(t, 30)
	ready := tr.Page(query(t, "state=ready&limit=100"), labels)
	if got := pageNames(ready); len(got) != 10 || got[1] != "h003" || ready.Total != 10 {
		t.Errorf("state=ready: %v (total %d)", got, ready.Total)
	}
	q := tr.Page(query(t, "state=quarantined"), labels)
	if got := pageNames(q); !slices.Equal(got, []string{"h005", "h010", "h020", "h025"}) {
		t.Errorf("state=quarantined: %v", got)
	}
	both := tr.Page(query(t, "state=ready,quarantined&label=role=db"), labels)
	for _, h := range both.Hosts {
		if labels(h.Status.Name)["role"] != "db" || h.Class() == ClassPending {
			t.Errorf("state=ready,quarantined&label=role=db listed %s (%s, %v)", h.Status.Name, h.Class(), labels(h.Status.Name))
		}
	}
	if len(both.Hosts) != 7 || both.Total != -1 {
		t.Errorf("state=ready,quarantined&label=role=db: %v (total %d: unknown with a label filter)", pageNames(both), both.Total)
	}
	if got := pageNames(tr.Page(query(t, "label=role=web,zone=a&limit=3"), labels)); !slices.Equal(got, []string{"h000", "h002", "h004"}) {
		t.Errorf("label=role=web,zone=a&limit=3: %v", got)
	}
	if got := pageNames(tr.Page(query(t, "label=zone=b"), labels)); len(got) != 0 {
		t.Errorf("label=zone=b: %v, want none", got)
	}
	if got := pageNames(tr.Page(query(t, "host=h007,h001,nosuch&host=h001"), labels)); !slices.Equal(got, []string{"h001", "h007"}) {
		t.Errorf("host=h007,h001,nosuch: %v", got)
	}
	// Paging within a filter: the token carries the place, the filter stays.
	var all []string
	p := Page{Continue: "start"}
	for raw := "state=pending&limit=4"; p.Continue != ""; raw = "state=pending&limit=4&continue=" + url.QueryEscape(p.Continue) {
		p = tr.Page(query(t, raw), labels)
		all = append(all, pageNames(p)...)
	}
	if len(all) != tr.Counts().Pending || !slices.IsSorted(all) {
		t.Errorf("pending hosts page by page: %v, want %d in order", all, tr.Counts().Pending)
	}
}

// TestBadListParameters: each mistake is refused with a message that
// says what is allowed.
func TestBadListParameters(t *testing.T) {
	tr, labels := labelledFleet(t, 5)
	token := tr.Page(query(t, "limit=2&state=pending"), labels).Continue
	for raw, want := range map[string]string{
		"limit=0":                      "from 1 to 5000",
		"limit=abc":                    "whole number",
		"limit=100000":                 "from 1 to 5000",
		"limit=1&limit=2":              "give it once",
		"state=broken":                 "ready, quarantined or pending",
		"label=role":                   "key=value",
		"label=role=web&label=role=db": "both",
		"host=a,,b":                    "empty host name",
		"resources=maybe":              "true or false",
		"continue=garbage":             "not a continue token",
		"color=blue":                   `unknown parameter "color"`,
		"continue=" + token:            "other filters",
	} {
		v, _ := url.ParseQuery(raw)
		if _, err := ParseQuery(v); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one saying %q", raw, err, want)
		}
	}
}

// TestViewCountsAndPages: a View counts and pages what was put into it.
func TestViewCountsAndPages(t *testing.T) {
	v := NewView()
	now := time.Now()
	ready := []v1alpha1.Condition{{Type: v1alpha1.ConditionReady, Status: v1alpha1.ConditionTrue}}
	for _, n := range []string{"c", "a", "b"} {
		v.Put(n, &Host{Status: v1alpha1.HostStatus{Name: n}}, now)
	}
	v.Put("b", &Host{Status: v1alpha1.HostStatus{Name: "b", Conditions: ready}}, now)
	v.Put("c", nil, now)
	if c := v.Counts(); c.Hosts != 2 || c.Ready != 1 || c.Pending != 1 {
		t.Errorf("counts %+v, want 2 hosts, 1 ready, 1 pending", c)
	}
	if got := pageNames(v.Page(query(t, "limit=5"), nil)); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("view page: %v", got)
	}
}
