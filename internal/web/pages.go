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
	Fleet   *Fleet
	Counts  []stateCount
	Total   int
	State   State
	Query   string
	Rows    []Host
	Matched int
	First   int
	Last    int
	PageNo  int
	Pages   int
	Prev    string
	Next    string
}

type stateCount struct {
	State State
	N     int
	URL   string
}

func (s *Server) fleet(w http.ResponseWriter, r *http.Request) {
	f := s.opts.Source.Snapshot()
	q := r.URL.Query()
	data := fleetPage{page: page{Title: "Fleet", Live: true, Now: s.opts.Now(), Version: f.UpdatedAt.UnixMilli()}, Fleet: f, Total: len(f.Hosts),
		Query: strings.TrimSpace(q.Get("q"))}
	for _, st := range States {
		if strings.EqualFold(q.Get("state"), string(st)) {
			data.State = st
		}
	}
	counts := map[State]int{}
	for i := range f.Hosts {
		counts[f.Hosts[i].State]++
	}
	for _, st := range States {
		// Pending is transient: shown only while some host is pending.
		if st == StatePending && counts[st] == 0 {
			continue
		}
		data.Counts = append(data.Counts, stateCount{State: st, N: counts[st], URL: fleetURL(st, "", 1)})
	}
	matched := make([]Host, 0, len(f.Hosts))
	for _, h := range f.Hosts {
		if (data.State == "" || h.State == data.State) && hostMatches(&h, data.Query) {
			matched = append(matched, h)
		}
	}
	sort.SliceStable(matched, func(i, j int) bool {
		if a, b := matched[i].State.rank(), matched[j].State.rank(); a != b {
			return a < b
		}
		return matched[i].Name < matched[j].Name
	})
	data.Matched = len(matched)
	data.Pages = max(1, (len(matched)+s.opts.PageSize-1)/s.opts.PageSize)
	data.PageNo, _ = strconv.Atoi(q.Get("page"))
	data.PageNo = min(max(data.PageNo, 1), data.Pages)
	from := (data.PageNo - 1) * s.opts.PageSize
	to := min(from+s.opts.PageSize, len(matched))
	data.Rows = matched[from:to]
	data.First, data.Last = from+1, to
	if data.PageNo > 1 {
		data.Prev = fleetURL(data.State, data.Query, data.PageNo-1)
	}
	if data.PageNo < data.Pages {
		data.Next = fleetURL(data.State, data.Query, data.PageNo+1)
	}
	s.render(w, r, http.StatusOK, "fleet", data)
}

// hostMatches: an empty query matches every host; otherwise the name,
// address, a label key=value or the reason contains it, ignoring case.
func hostMatches(h *Host, query string) bool {
	if query == "" {
		return true
	}
	query = strings.ToLower(query)
	if strings.Contains(strings.ToLower(h.Name), query) || strings.Contains(strings.ToLower(h.Address), query) ||
		strings.Contains(strings.ToLower(h.Reason), query) {
		return true
	}
	return labelsMatch(h.Labels, query)
}

func labelsMatch(labels map[string]string, query string) bool {
	for k, v := range labels {
		if strings.Contains(strings.ToLower(k+"="+v), query) {
			return true
		}
	}
	return false
}

func fleetURL(st State, query string, pageNo int) string {
	v := url.Values{}
	if st != "" {
		v.Set("state", string(st))
	}
	if query != "" {
		v.Set("q", query)
	}
	if pageNo > 1 {
		v.Set("page", strconv.Itoa(pageNo))
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
	f := s.opts.Source.Snapshot()
	h := findHost(f, r.PathValue("name"))
	if h == nil {
		s.notFound(w, r, "host", r.PathValue("name"))
		return
	}
	hp := hostPage{page: page{Title: h.Name, Live: true, Now: s.opts.Now(), Version: f.UpdatedAt.UnixMilli()},
		CanWrite: s.canWrite(r), Queued: r.URL.Query().Get("queued") != ""}
	if rh, ok := s.opts.Source.(RunHistory); ok {
		hc := *h // the snapshot is shared: the runs go on a copy
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

func findHost(f *Fleet, name string) *Host {
	i := sort.Search(len(f.Hosts), func(i int) bool { return f.Hosts[i].Name >= name })
	if i < len(f.Hosts) && f.Hosts[i].Name == name {
		return &f.Hosts[i]
	}
	return nil
}

type resourcePage struct {
	page
	Resource *Resource
}

func (s *Server) resource(w http.ResponseWriter, r *http.Request) {
	f := s.opts.Source.Snapshot()
	kind, name := r.PathValue("kind"), r.PathValue("name")
	for i := range f.Resources {
		if res := &f.Resources[i]; res.Kind == kind && res.Name == name {
			s.render(w, r, http.StatusOK, "resource", resourcePage{page: page{Title: res.ID(), Live: true, Now: s.opts.Now(), Version: f.UpdatedAt.UnixMilli()}, Resource: res})
			return
		}
	}
	s.notFound(w, r, "resource", kind+"/"+name)
}

type searchPage struct {
	page
	Hosts     []Host
	Resources []Resource
}

// search finds hosts and resources whose name or one of whose labels
// (key=value) contains the query, ignoring case.
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	f := s.opts.Source.Snapshot()
	query := strings.TrimSpace(r.URL.Query().Get("q"))
	data := searchPage{page: page{Title: "Search", Search: query, Now: s.opts.Now()}}
	if query != "" {
		lq := strings.ToLower(query)
		for _, h := range f.Hosts {
			if strings.Contains(strings.ToLower(h.Name), lq) || labelsMatch(h.Labels, lq) {
				data.Hosts = append(data.Hosts, h)
			}
		}
		for _, res := range f.Resources {
			if strings.Contains(strings.ToLower(res.ID()), lq) || labelsMatch(res.Labels, lq) {
				data.Resources = append(data.Resources, res)
			}
		}
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
