package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed templates
var templatesFS embed.FS

type pages struct {
	byName map[string]*template.Template
}

// parsePages parses each page together with the shared layout.
func parsePages() (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range []string{"fleet", "host", "resource", "search", "login", "notfound"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templatesFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// page is what the layout needs on every page.
type page struct {
	Title  string
	Search string
	// Live turns on the live-update stream for the page's #live region.
	Live bool
	Now  time.Time
	// Version is the UpdatedAt of the status shown, in Unix milliseconds.
	Version int64
}

type loginPage struct {
	page
	Next    string
	Problem string
}

func (s *Server) render(w http.ResponseWriter, _ *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages.byName[name].Execute(&buf, data); err != nil {
		http.Error(w, "render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type fleetPage struct {
	page
	Fleet  *Summary
	Counts []stateCount
	Total  int
	// State is the class filtered on; Query the label selector (key=value)
	// or the part of host names asked for.
	State State
	Query string
	Rows  []Host
	// Matched counts the hosts the filter selects, -1 when unknown.
	Matched int
	First   int
	Last    int
	// FirstPage and Next link the first and the next page ("" on the last).
	FirstPage string
	Next      string
	Problem   string
}

type stateCount struct {
	State State
	N     int
	URL   string
}

// fleet renders the summary and one page of hosts in name order; the
// next page follows the source's continue token, so no request costs more
// than its page, however large the fleet.
func (s *Server) fleet(w http.ResponseWriter, r *http.Request) {
	sum := s.opts.Source.Summary()
	q := r.URL.Query()
	data := fleetPage{page: page{Title: "Fleet", Live: true, Now: s.opts.Now(), Version: sum.UpdatedAt.UnixMilli()}, Fleet: sum, Total: sum.Hosts,
		Query: strings.TrimSpace(q.Get("q")), Matched: -1}
	for _, st := range Classes {
		if strings.EqualFold(q.Get("state"), string(st)) {
			data.State = st
		}
	}
	for _, st := range Classes {
		// Pending is transient: shown only while some host is pending.
		if st == StatePending && sum.Counts[st] == 0 {
			continue
		}
		data.Counts = append(data.Counts, stateCount{State: st, N: sum.Counts[st], URL: fleetURL(st, "", "", 0)})
	}
	hq := HostQuery{Class: data.State, Limit: s.opts.PageSize, Continue: q.Get("continue")}
	if strings.Contains(data.Query, "=") {
		hq.Selector = data.Query
	} else {
		hq.Contains = data.Query
	}
	from, _ := strconv.Atoi(q.Get("from"))
	from = max(from, 1)
	if hq.Continue == "" {
		from = 1
	}
	hp, err := s.opts.Source.Hosts(hq)
	if err != nil {
		data.Problem = err.Error()
		s.render(w, r, http.StatusBadRequest, "fleet", data)
		return
	}
	data.Rows, data.Matched = hp.Hosts, hp.Total
	data.First, data.Last = from, from+len(hp.Hosts)-1
	if hq.Continue != "" {
		data.FirstPage = fleetURL(data.State, data.Query, "", 0)
	}
	if hp.Continue != "" {
		data.Next = fleetURL(data.State, data.Query, hp.Continue, data.Last+1)
	}
	s.render(w, r, http.StatusOK, "fleet", data)
}

func fleetURL(st State, query, cont string, from int) string {
	v := url.Values{}
	if st != "" {
		v.Set("state", string(st))
	}
	if query != "" {
		v.Set("q", query)
	}
	if cont != "" {
		v.Set("continue", cont)
		v.Set("from", strconv.Itoa(from))
	}
	if len(v) == 0 {
		return "/"
	}
	return "/?" + v.Encode()
}

type hostPage struct {
	page
	Host     *Host
	CanWrite bool
	Queued   bool
	// HistoryError says why the run history could not be read.
	HistoryError string
}

// hostHistoryRuns is how many recorded runs the host page lists.
const hostHistoryRuns = 10

func (s *Server) host(w http.ResponseWriter, r *http.Request) {
	version := s.opts.Source.Summary().UpdatedAt
	h := s.opts.Source.Host(r.PathValue("name"))
	if h == nil {
		s.notFound(w, r, "host", r.PathValue("name"))
		return
	}
	hp := hostPage{page: page{Title: h.Name, Live: true, Now: s.opts.Now(), Version: version.UnixMilli()},
		CanWrite: s.canWrite(r), Queued: r.URL.Query().Get("queued") != ""}
	if rh, ok := s.opts.Source.(RunHistory); ok {
		hc := *h // the source may share the host: the runs go on a copy
		runs, err := rh.HostRuns(r.Context(), h.Name, hostHistoryRuns)
		if err != nil {
			hp.HistoryError = err.Error()
		} else {
			hc.History = runs
		}
		h = &hc
	}
	hp.Host = h
	s.render(w, r, http.StatusOK, "host", hp)
}

type resourcePage struct {
	page
	Resource *Resource
}

func (s *Server) resource(w http.ResponseWriter, r *http.Request) {
	version := s.opts.Source.Summary().UpdatedAt
	kind, name := r.PathValue("kind"), r.PathValue("name")
	if res := s.opts.Source.Resource(kind, name); res != nil {
		s.render(w, r, http.StatusOK, "resource", resourcePage{page: page{Title: res.ID(), Live: true, Now: s.opts.Now(), Version: version.UnixMilli()}, Resource: res})
		return
	}
	s.notFound(w, r, "resource", kind+"/"+name)
}

type searchPage struct {
	page
	Hosts     []Host
	Resources []Resource
	// Limit is the most hosts (and resources) listed.
	Limit int
}

// searchLimit is how many hosts, and how many resources, a search lists.
const searchLimit = 100

// search finds hosts and resources whose name or one of whose labels
// (key=value) contains the query, ignoring case.
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	query := strings.TrimSpace(r.URL.Query().Get("q"))
	data := searchPage{page: page{Title: "Search", Search: query, Now: s.opts.Now()}, Limit: searchLimit}
	if query != "" {
		data.Hosts, data.Resources = s.opts.Source.Search(query, searchLimit)
	}
	s.render(w, r, http.StatusOK, "search", data)
}

type notFoundPage struct {
	page
	What, Name string
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, what, name string) {
	s.render(w, r, http.StatusNotFound, "notfound", notFoundPage{page: page{Title: "Not found", Now: s.opts.Now()}, What: what, Name: name})
}

func hostURL(name string) string { return "/hosts/" + url.PathEscape(name) }

func resourceURL(kind, name string) string {
	return "/resources/" + url.PathEscape(kind) + "/" + url.PathEscape(name)
}

var funcs = template.FuncMap{
	"hostURL":     hostURL,
	"resourceURL": resourceURL,
	"stateClass":  func(s any) string { return "st-" + strings.ToLower(fmt.Sprint(s)) },
	"ago":         ago,
	"lower":       strings.ToLower,
	"rfc3339":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"clock":       func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"dur":         func(d time.Duration) string { return d.Round(time.Millisecond).String() },
	"labels":      sortedLabels,
	"mark":        opMark,
	"quoteEmpty": func(s string) string {
		if s == "" {
			return `""`
		}
		return s
	},
	"diffClass": func(line string) string {
		switch {
		case strings.HasPrefix(line, "+"):
			return "add"
		case strings.HasPrefix(line, "-"):
			return "del"
		}
		return ""
	},
	"oneLine": func(s string) string { return strings.Join(strings.Fields(s), " ") },
}

// ago says how long before now t was, "never" for the zero time, "in …"
// for a time to come.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Second:
		s = "now"
		return s
	case d < time.Minute:
		s = fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		s = fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%dh", int(d.Hours()))
	default:
		s = fmt.Sprintf("%dd", int(d.Hours()/24))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

func sortedLabels(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// opMark is the CLI's marker for an action: + create, - delete, ~ other.
func opMark(op string) string {
	switch op {
	case "create":
		return "+"
	case "delete":
		return "-"
	}
	return "~"
}
