package status

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// Paging bounds. A list without limit gets DefaultLimit hosts: a listing
// never answers with the whole fleet unless asked page by page.
const (
	DefaultLimit = 500
	MaxLimit     = 5000
)

// listParams are the query parameters that make /api/v1/status a list;
// without any of them it answers with the whole document, as it always did.
var listParams = []string{"host", "name", "state", "label", "limit", "continue", "resources"}

// Query selects one page of hosts, in name order.
type Query struct {
	// Names keeps only these hosts (sorted, no duplicates); empty: all.
	Names []string
	// States keeps only hosts of these classes (ClassReady, ...); empty: all.
	States []string
	// Selector keeps only hosts whose labels have every key=value.
	Selector map[string]string
	// Contains keeps only hosts whose name contains it, ignoring case
	// (held in lower case).
	Contains string
	// Limit is the most hosts a page holds.
	Limit int
	// After is the last host of the previous page: the page starts after it.
	After string
	// Resources asks for each host's resource states.
	Resources bool
}

// filtered reports whether anything but paging narrows the list.
func (q *Query) filtered() bool {
	return len(q.Names) > 0 || len(q.States) > 0 || len(q.Selector) > 0 || q.Contains != ""
}

// fingerprint names the filters, so that a continue token is only good
// for the list it came from.
func (q *Query) fingerprint() string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%q|%q|%q|", q.Names, q.States, q.Contains)
	keys := make([]string, 0, len(q.Selector))
	for k := range q.Selector {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "%q=%q,", k, q.Selector[k])
	}
	return strconv.FormatUint(h.Sum64(), 36)
}

// continueToken is what the opaque continue string holds.
type continueToken struct {
	V      int    `json:"v"`
	After  string `json:"after"`
	Filter string `json:"filter"`
}

func (q *Query) token(after string) string {
	b, _ := json.Marshal(continueToken{V: 1, After: after, Filter: q.fingerprint()})
	return base64.RawURLEncoding.EncodeToString(b)
}

// IsList reports whether v asks for a list rather than the whole document.
func IsList(v url.Values) bool {
	for _, p := range listParams {
		if v.Has(p) {
			return true
		}
	}
	return false
}

// ParseQuery reads the list parameters of /api/v1/status: host=a,b
// name=PART state=ready,quarantined,pending label=k=v,k2=v2 limit=N
// continue=TOKEN resources=true|false. Every problem is an error that says what is
// allowed, for a 400 answer.
func ParseQuery(v url.Values) (Query, error) {
	q := Query{Limit: DefaultLimit, Resources: true}
	for name := range v {
		if !slices.Contains(listParams, name) {
			return q, fmt.Errorf("unknown parameter %q: the status list takes %s", name, strings.Join(listParams, ", "))
		}
		if len(v[name]) > 1 && name != "host" && name != "state" && name != "label" {
			return q, fmt.Errorf("parameter %q given %d times: give it once", name, len(v[name]))
		}
	}
	for _, s := range v["host"] {
		for _, n := range strings.Split(s, ",") {
			if n = strings.TrimSpace(n); n == "" {
				return q, fmt.Errorf("host=%q: an empty host name (host=NAME[,NAME...])", s)
			}
			q.Names = append(q.Names, n)
		}
	}
	slices.Sort(q.Names)
	q.Names = slices.Compact(q.Names)
	for _, s := range v["state"] {
		for _, c := range strings.Split(s, ",") {
			c = strings.ToLower(strings.TrimSpace(c))
			if c != ClassReady && c != ClassQuarantined && c != ClassPending {
				return q, fmt.Errorf("state=%q: a state is %s, %s or %s", s, ClassReady, ClassQuarantined, ClassPending)
			}
			if !slices.Contains(q.States, c) {
				q.States = append(q.States, c)
			}
		}
	}
	slices.Sort(q.States)
	q.Contains = strings.ToLower(strings.TrimSpace(v.Get("name")))
	for _, s := range v["label"] {
		sel, err := ParseSelector(s)
		if err != nil {
			return q, err
		}
		if q.Selector == nil {
			q.Selector = map[string]string{}
		}
		for k, val := range sel {
			if old, ok := q.Selector[k]; ok && old != val {
				return q, fmt.Errorf("label %q asked both =%q and =%q: no host has both", k, old, val)
			}
			q.Selector[k] = val
		}
	}
	if s := v.Get("limit"); v.Has("limit") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return q, fmt.Errorf("limit=%q: the limit is a whole number from 1 to %d", s, MaxLimit)
		}
		q.Limit = n
	}
	if s := v.Get("resources"); v.Has("resources") {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return q, fmt.Errorf("resources=%q: true or false", s)
		}
		q.Resources = b
	}
	if s := v.Get("continue"); s != "" {
		var tok continueToken
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err == nil {
			err = json.Unmarshal(b, &tok)
		}
		if err != nil || tok.V != 1 || tok.After == "" {
			return q, fmt.Errorf("continue=%q is not a continue token this controller gave: start the list again without it", s)
		}
		if tok.Filter != q.fingerprint() {
			return q, fmt.Errorf("the continue token belongs to a list with other filters: pass the same host, state and label as the first page")
		}
		q.After = tok.After
	}
	return q, nil
}

// ParseSelector reads a label selector of the form key=value[,key2=value2]
// (equality only, like kubectl -l with =).
func ParseSelector(s string) (map[string]string, error) {
	sel := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		k, val = strings.TrimSpace(k), strings.TrimSpace(strings.TrimPrefix(val, "="))
		if !ok || k == "" {
			return nil, fmt.Errorf("label selector %q: each term is key=value, terms separated by commas", s)
		}
		if old, dup := sel[k]; dup && old != val {
			return nil, fmt.Errorf("label selector %q: %s asked both =%q and =%q", s, k, old, val)
		}
		sel[k] = val
	}
	return sel, nil
}

// Page is one page of a host list. Hosts are the records as they were
// when the page was cut; they are shared and must not be modified.
type Page struct {
	Hosts []*Host
	// Continue is the token of the next page, "" on the last one.
	Continue string
	// Remaining counts the hosts after this page, and Total those the list
	// holds, when they are known without walking the fleet (-1 otherwise).
	Remaining, Total int
	Version          uint64
	UpdatedAt        time.Time
}

// LabelFunc gives a host's labels; nil when the host has none.
type LabelFunc func(host string) map[string]string

// index is the part of a fleet that a page is cut from: the sorted names
// and each name's record. The caller holds whatever lock guards them.
type index struct {
	names  []string
	hosts  map[string]*Host
	counts Counts
}

// page cuts q's page. It looks at the hosts after q.After until it has
// Limit matches and knows whether one more exists, so an unfiltered page
// costs its own size plus a binary search, however large the fleet.
func (ix *index) page(q Query, labels LabelFunc) Page {
	p := Page{Remaining: -1, Total: -1}
	match := func(name string, h *Host) bool {
		if h == nil {
			return false
		}
		if len(q.States) > 0 && !slices.Contains(q.States, h.Class()) {
			return false
		}
		if q.Contains != "" && !strings.Contains(strings.ToLower(name), q.Contains) {
			return false
		}
		if len(q.Selector) > 0 {
			var l map[string]string
			if labels != nil {
				l = labels(name)
			}
			for k, v := range q.Selector {
				if got, ok := l[k]; !ok || got != v {
					return false
				}
			}
		}
		return true
	}
	names := ix.names
	if len(q.Names) > 0 {
		names = q.Names // already sorted
	}
	start, _ := slices.BinarySearch(names, q.After)
	if start < len(names) && q.After != "" && names[start] == q.After {
		start++
	}
	last := -1
	for i := start; i < len(names); i++ {
		h := ix.hosts[names[i]]
		if !match(names[i], h) {
			continue
		}
		if len(p.Hosts) == q.Limit {
			p.Continue = q.token(names[last])
			break
		}
		p.Hosts = append(p.Hosts, h)
		last = i
	}
	switch {
	case !q.filtered():
		p.Total = len(ix.names)
		p.Remaining = max(0, len(ix.names)-start-len(p.Hosts))
		if last >= 0 {
			p.Remaining = len(ix.names) - last - 1
		}
	case len(q.Names) == 0 && len(q.Selector) == 0:
		p.Total = 0
		for _, c := range q.States {
			p.Total += ix.counts.Of(c)
		}
	}
	return p
}

// Of returns the count of one class.
func (c Counts) Of(class string) int {
	switch class {
	case ClassReady:
		return c.Ready
	case ClassQuarantined:
		return c.Quarantined
	case ClassPending:
		return c.Pending
	}
	return 0
}

// add counts h in (delta 1) or out (delta -1).
func (c *Counts) add(h *Host, delta int) {
	c.Hosts += delta
	if h.Passed {
		c.Passed += delta
	}
	switch h.Class() {
	case ClassReady:
		c.Ready += delta
	case ClassQuarantined:
		c.Quarantined += delta
	default:
		c.Pending += delta
	}
}

// Page returns one page of the fleet's hosts in name order, cut under the
// lock: the cost is the page (plus the hosts a filter skips), never the
// fleet. labels must not call the tracker.
func (t *Tracker) Page(q Query, labels LabelFunc) Page {
	t.mu.Lock()
	defer t.mu.Unlock()
	ix := index{names: t.names, hosts: t.hosts, counts: t.counts}
	p := ix.page(q, labels)
	p.Version, p.UpdatedAt = t.version, t.updatedAt
	return p
}

// Summary is the fleet at a glance: what Counts and the controller's
// conditions say, at the version they were read.
type Summary struct {
	Version    uint64
	UpdatedAt  time.Time
	Conditions []v1alpha1.Condition
	Counts     Counts
}

// Summary returns the counts and conditions; it costs nothing per host.
func (t *Tracker) Summary() Summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Summary{Version: t.version, UpdatedAt: t.updatedAt, Conditions: t.conditions, Counts: t.counts}
}
