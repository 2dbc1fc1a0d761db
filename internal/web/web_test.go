package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newTestServer(t *testing.T, src Source, tokens *Tokens) *httptest.Server {
	t.Helper()
	s, err := New(Options{Source: src, Tokens: tokens, Batch: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	s.Register(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	ts := httptest.NewServer(s.Protect(mux, "/healthz"))
	t.Cleanup(func() { s.Close(); ts.Close() })
	return ts
}

func get(t *testing.T, c *http.Client, u string, header ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestFleetPageOrdersFiltersAndPaginates(t *testing.T) {
	ts := newTestServer(t, &fakeSource{fleet: fleetOf(250, 7, 180)}, nil)
	code, body, h := get(t, nil, ts.URL+"/")
	if code != 200 {
		t.Fatalf("GET / = %d", code)
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP = %q", csp)
	}
	if n := strings.Count(body, "<tr data-host="); n != 100 {
		t.Errorf("first page has %d rows, want 100", n)
	}
	first, last := strings.Index(body, `data-host="host0000"`), strings.Index(body, `data-host="host0099"`)
	if first < 0 || last < first || strings.Contains(body, `data-host="host0100"`) {
		t.Errorf("the first page is not hosts 0 to 99 in name order (positions %d, %d)", first, last)
	}
	for _, want := range []string{`<span class="n">2</span> <span class="label">Quarantined</span>`,
		`<span class="n">248</span> <span class="label">Ready</span>`, "Hosts 1–100 of 250", `href="/?continue=100&amp;from=101"`} {
		if !strings.Contains(body, want) {
			t.Errorf("fleet page lacks %q", want)
		}
	}

	_, body, _ = get(t, nil, ts.URL+"/?continue=200&from=201")
	if n := strings.Count(body, "<tr data-host="); n != 50 || !strings.Contains(body, "Hosts 201–250 of 250") || strings.Contains(body, `rel="next"`) {
		t.Errorf("third page has %d rows, want 50, its place and no next page", n)
	}
	_, body, _ = get(t, nil, ts.URL+"/?state=Quarantined")
	if n := strings.Count(body, "<tr data-host="); n != 2 {
		t.Errorf("state=Quarantined shows %d rows, want 2", n)
	}
	_, body, _ = get(t, nil, ts.URL+"/?q=role%3Ddb&state=ready")
	if n := strings.Count(body, "<tr data-host="); n != 100 || !strings.Contains(body, "Hosts 1–100 matching (of 250)") {
		t.Errorf("role=db Ready: %d rows on the page; body lacks the place", n)
	}
	_, body, _ = get(t, nil, ts.URL+"/?q=0018")
	if n := strings.Count(body, "<tr data-host="); n != 1 || !strings.Contains(body, `data-host="host0018"`) {
		t.Errorf("q=0018 (part of a name): %d rows", n)
	}
	if code, body, _ := get(t, nil, ts.URL+"/?continue=garbage"); code != http.StatusBadRequest || !strings.Contains(body, "bad continue token") {
		t.Errorf("a bad continue token: %d, want 400 saying so", code)
	}
}

func TestPagesEscapeEverything(t *testing.T) {
	const evil = `<script>alert(1)</script>`
	f := fleetOf(1)
	f.Hosts[0].State, f.Hosts[0].Reason = StateQuarantined, "command said "+evil
	f.Hosts[0].Labels["note"] = evil
	f.Hosts[0].LastActions = []Action{{Resource: "Exec/x", Op: "run", Description: "run " + evil, Status: "failed",
		Error: "exit 1: <img src=x onerror=alert(2)>", Changes: []Change{{Field: "content", Before: evil, After: ""}}}}
	f.Resources[0].Labels["note"] = evil
	f.Config = Config{Known: true, Errors: []ConfigError{{Location: "a.yaml:3", Message: evil}}}
	ts := newTestServer(t, &fakeSource{fleet: f}, nil)
	for _, path := range []string{"/", "/hosts/host0000", "/resources/User/alice", "/search?q=" + url.QueryEscape(evil),
		"/search?q=note", "/hosts/" + url.PathEscape(evil)} {
		_, body, _ := get(t, nil, ts.URL+path)
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Errorf("%s: unescaped markup in the page", path)
		}
		if !strings.Contains(body, "&lt;") {
			t.Errorf("%s: the hostile text is not shown escaped", path)
		}
	}
}

func TestHostPageShowsChangesAsTheCLI(t *testing.T) {
	f := fleetOf(1)
	next := time.Now().Add(30 * time.Second)
	f.Hosts[0].State, f.Hosts[0].NextRetry, f.Hosts[0].Backoff = StateQuarantined, next, 20*time.Second
	f.Hosts[0].LastActions = []Action{{Cycle: 1, Resource: "User/alice", Op: "update", Description: "update user alice",
		Status: "ok", Changes: []Change{{Field: "password", Before: "(redacted)", After: "(redacted)"}, {Field: "shell", Before: "", After: "/bin/sh"}}}}
	ts := newTestServer(t, &fakeSource{fleet: f}, nil)
	_, body, _ := get(t, nil, ts.URL+"/hosts/host0000")
	for _, want := range []string{"<code>User/alice</code>: update user alice", "password: (redacted) -> (redacted)",
		`shell: &#34;&#34; -> /bin/sh`, "next retry at", "20s;"} {
		if !strings.Contains(body, want) {
			t.Errorf("host page lacks %q", want)
		}
	}
	if code, _, _ := get(t, nil, ts.URL+"/hosts/nope"); code != 404 {
		t.Errorf("unknown host: %d, want 404", code)
	}
}

func writeTokens(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadTokens(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		mode          os.FileMode
		err           string
	}{
		{"read and write", "# ops\nreadtoken-0123456789\n\nwritetoken-0123456789 write\n", 0o600, ""},
		{"short", "abc\n", 0o600, "tokens:1: token shorter than 16"},
		{"bad scope", "readtoken-0123456789 admin\n", 0o600, "tokens:1: want TOKEN"},
		{"empty", "# nothing\n", 0o600, "no token"},
		{"world readable", "readtoken-0123456789\n", 0o644, "chmod 600"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := LoadTokens(writeTokens(t, tc.content, tc.mode))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.scopeOf("readtoken-0123456789") != ScopeRead || tok.scopeOf("writetoken-0123456789") != ScopeWrite ||
				tok.scopeOf("writetoken-012345678") != ScopeNone || tok.scopeOf("") != ScopeNone {
				t.Error("scopes are wrong")
			}
		})
	}
}

func TestTokensGuardEveryRequest(t *testing.T) {
	tokens, err := LoadTokens(writeTokens(t, "readtoken-0123456789\nwritetoken-0123456789 write\n", 0o600))
	if err != nil {
		t.Fatal(err)
	}
	src := reconcilingSource{&fakeSource{fleet: fleetOf(3)}}
	ts := newTestServer(t, src, tokens)

	if code, _, h := get(t, nil, ts.URL+"/hosts/host0001"); code != 401 || h.Get("WWW-Authenticate") == "" {
		t.Errorf("no token: %d, want 401 with WWW-Authenticate", code)
	}
	if code, body, _ := get(t, nil, ts.URL+"/", "Accept", "text/html"); code != 401 || !strings.Contains(body, `name="token"`) {
		t.Errorf("a browser without a token: %d, want 401 and the token form", code)
	}
	if code, _, _ := get(t, nil, ts.URL+"/events"); code != 401 {
		t.Errorf("events without a token: %d", code)
	}
	if code, _, _ := get(t, nil, ts.URL+"/", "Authorization", "Bearer wrong-token-0123456789"); code != 401 {
		t.Errorf("wrong token: %d", code)
	}
	if code, _, _ := get(t, nil, ts.URL+"/healthz"); code != 200 {
		t.Errorf("/healthz must stay open for probes: %d", code)
	}
	code, body, _ := get(t, nil, ts.URL+"/hosts/host0001", "Authorization", "Bearer readtoken-0123456789")
	if code != 200 || strings.Contains(body, "Reconcile now") {
		t.Errorf("read token: %d, reconcile button shown: %v", code, strings.Contains(body, "Reconcile now"))
	}

	// A browser: the form's token becomes a session cookie.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	login := func(token, origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/login", strings.NewReader(url.Values{"token": {token}, "next": {"/hosts/host0001"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := login("writetoken-0123456789", "http://evil.example"); resp.StatusCode != 403 {
		t.Errorf("cross-origin sign-in: %d, want 403", resp.StatusCode)
	}
	if resp := login("nope-nope-nope-nope", ts.URL); resp.StatusCode != 401 {
		t.Errorf("wrong token in the form: %d, want 401", resp.StatusCode)
	}
	// Inspect the cookie before the client follows the redirect.
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/login", strings.NewReader("token=writetoken-0123456789"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", ts.URL)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookie := resp.Header.Get("Set-Cookie")
	if resp.StatusCode != 303 || !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Strict") {
		t.Fatalf("sign-in: %d, Set-Cookie %q", resp.StatusCode, cookie)
	}
	if resp := login("writetoken-0123456789", ts.URL); resp.StatusCode != 200 || resp.Request.URL.Path != "/hosts/host0001" {
		t.Fatalf("sign-in: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	code, body, _ = get(t, browser, ts.URL+"/hosts/host0001")
	if code != 200 || !strings.Contains(body, "Reconcile now") {
		t.Fatalf("write session: %d, reconcile button shown: %v", code, strings.Contains(body, "Reconcile now"))
	}

	post := func(origin string) int {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/hosts/host0001/reconcile", nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("http://evil.example"); code != 403 {
		t.Errorf("cross-origin reconcile: %d, want 403", code)
	}
	if code := post(""); code != 403 {
		t.Errorf("reconcile without Origin: %d, want 403", code)
	}
	if code := post(ts.URL); code != 200 {
		t.Errorf("same-origin reconcile: %d", code)
	}
	src.mu.Lock()
	queued := src.queued
	src.mu.Unlock()
	if len(queued) != 1 || queued[0] != "host0001" {
		t.Errorf("queued %v, want [host0001]", queued)
	}
}

func TestWithoutTokensOnlyLoopbackNamesAndNoWrites(t *testing.T) {
	src := reconcilingSource{&fakeSource{fleet: fleetOf(1)}}
	ts := newTestServer(t, src, nil)
	if code, _, _ := get(t, nil, ts.URL+"/", "Host", "rebound.example:80"); code != http.StatusMisdirectedRequest {
		t.Errorf("a non-loopback Host header: %d, want 421", code)
	}
	_, body, _ := get(t, nil, ts.URL+"/hosts/host0000")
	if strings.Contains(body, "Reconcile now") {
		t.Error("reconcile button without a write token")
	}
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/hosts/host0000/reconcile", nil)
	req.Header.Set("Origin", ts.URL)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("reconcile without tokens: %d, want 403", resp.StatusCode)
	}
}

func TestRolloutShownOnlyWhenThereIsOne(t *testing.T) {
	f := fleetOf(2)
	ts := newTestServer(t, &fakeSource{fleet: f}, nil)
	if _, body, _ := get(t, nil, ts.URL+"/"); strings.Contains(body, "Rollout") {
		t.Error("a rollout section without a rollout")
	}
	f2 := fleetOf(4)
	f2.Rollout = &Rollout{Generation: "abc123", Previous: "old999", Phase: "Halted", Batch: 2, Batches: 3, Total: 4, Done: 1, Failed: 2,
		Pending: 1, Budget: "1", Failures: []RolloutFailure{
			{Host: "host0001", Resources: []string{"File/motd: <write failed>", "User/bob: no such group"}},
			{Host: "host0002", Reason: "unreachable"}}}
	ts = newTestServer(t, &fakeSource{fleet: f2}, nil)
	_, body, _ := get(t, nil, ts.URL+"/")
	for _, want := range []string{"Rollout abc123", "Halted</span> batch 2 of 3: 1 of 4 hosts done, 2 failed (budget 1), 1 pending on old999",
		`<a href="/hosts/host0001">host0001</a>`, "<li>File/motd: &lt;write failed&gt;</li>", "<li>User/bob: no such group</li>",
		`<a href="/hosts/host0002">host0002</a></th><td class="msg">unreachable</td>`, "the rollout halted"} {
		if !strings.Contains(body, want) {
			t.Errorf("fleet page lacks %q", want)
		}
	}
}

// historySource also serves each host's recorded runs, and counts the
// reads.
type historySource struct {
	*fakeSource
	runs  []Run
	err   error
	reads []string
}

func (h *historySource) HostRuns(_ context.Context, host string, n int) ([]Run, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reads = append(h.reads, fmt.Sprintf("%s/%d", host, n))
	return h.runs, h.err
}

func TestHostPageListsRunHistory(t *testing.T) {
	start := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	src := &historySource{fakeSource: &fakeSource{fleet: fleetOf(3)}, runs: []Run{
		{Start: start, Duration: 1500 * time.Millisecond, Changed: 2, Failed: 1, Result: "failed", Reason: "File/motd: <denied>"},
		{Start: start.Add(-time.Hour), Duration: 300 * time.Millisecond, Result: "converged"}}}
	ts := newTestServer(t, src, nil)

	if _, _, _ = get(t, nil, ts.URL+"/"); len(src.reads) != 0 {
		t.Errorf("the fleet page read the run history: %v", src.reads)
	}
	_, body, _ := get(t, nil, ts.URL+"/hosts/host0001")
	if want := []string{"host0001/10"}; fmt.Sprint(src.reads) != fmt.Sprint(want) {
		t.Errorf("history reads %v, want %v", src.reads, want)
	}
	for _, want := range []string{"Run history", "The last 2 recorded reconciles, newest first",
		`<td><time datetime="2026-03-04T05:06:07Z">2026-03-04 05:06:07 UTC</time></td><td>failed</td><td>1.5s</td><td class="num">2</td><td class="num">1</td><td class="msg">File/motd: &lt;denied&gt;</td>`,
		`<td>converged</td><td>300ms</td>`} {
		if !strings.Contains(body, want) {
			t.Errorf("host page lacks %q", want)
		}
	}
	if strings.Contains(body, "<denied>") {
		t.Error("a run's reason is not escaped")
	}
	if h := src.Snapshot().Hosts[1].History; h != nil {
		t.Errorf("the page wrote the runs into the shared snapshot: %v", h)
	}

	src.err = fmt.Errorf("run history /var/lib/optimus/history.db: database is locked")
	if _, body, _ = get(t, nil, ts.URL+"/hosts/host0001"); !strings.Contains(body, "The run history cannot be read: run history /var/lib/optimus/history.db: database is locked") {
		t.Error("a history that cannot be read is not reported")
	}
}

// BenchmarkFleetPage renders the first page of a 1,000-host fleet with a
// tenth of the hosts quarantined.
func BenchmarkFleetPage(b *testing.B) {
	var q []int
	for i := 0; i < 1000; i += 10 {
		q = append(q, i)
	}
	s, err := New(Options{Source: &fakeSource{fleet: fleetOf(1000, q...)}})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	s.Register(mux)
	h := s.Protect(mux)
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/?state=&continue=100&from=101", nil)
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}
