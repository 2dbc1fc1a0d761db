package web

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/internal/testcert"
)

// protected serves the page's routes behind Protect, plus a route standing
// for one added later (as the daemon's rollout endpoints are), which
// records whether it ran.
func protected(t *testing.T, tokens *Tokens, now func() time.Time) (http.Handler, func() int) {
	t.Helper()
	s, err := New(Options{Source: reconcilingSource{&fakeSource{fleet: fleetOf(1)}}, Tokens: tokens, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	var mu sync.Mutex
	ran := 0
	mux := http.NewServeMux()
	s.Register(mux)
	mux.HandleFunc("POST /api/v1/later", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		ran++
		mu.Unlock()
		_, _ = io.WriteString(w, "changed\n")
	})
	return s.Protect(mux), func() int { mu.Lock(); defer mu.Unlock(); return ran }
}

// TestCrossSiteWritesRefusedEverywhere: one rule covers every method but
// GET and HEAD on every path, with or without tokens; a client that is not a
// browser (no Origin, no Sec-Fetch-Site, no cookie) still gets through.
func TestCrossSiteWritesRefusedEverywhere(t *testing.T) {
	tokens, err := LoadTokens(writeTokens(t, "writetoken-0123456789 write\n", 0o600))
	if err != nil {
		t.Fatal(err)
	}
	forged := []struct {
		name    string
		headers map[string]string
	}{
		{"Sec-Fetch-Site cross-site", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}},
		{"Sec-Fetch-Site same-site (another port of this machine)", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:8080"}},
		{"Origin of another host, no Sec-Fetch-Site", map[string]string{"Origin": "http://evil.example"}},
		{"Origin of another port, no Sec-Fetch-Site", map[string]string{"Origin": "http://127.0.0.1:8080"}},
		{"Origin null (sandboxed frame)", map[string]string{"Origin": "null"}},
		{"a cookie and neither header", map[string]string{"Cookie": SessionCookie + "=whatever"}},
	}
	for _, withTokens := range []bool{false, true} {
		tok := (*Tokens)(nil)
		if withTokens {
			tok = tokens
		}
		h, ran := protected(t, tok, nil)
		for _, path := range []string{"/login", "/hosts/host0000/reconcile", "/api/v1/later", "/api/v1/status", "/anything"} {
			for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
				for _, f := range forged {
					req := httptest.NewRequest(method, "http://127.0.0.1:9443"+path, strings.NewReader("token=writetoken-0123456789"))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.Header.Set("Authorization", "Bearer writetoken-0123456789")
					for k, v := range f.headers {
						req.Header.Set(k, v)
					}
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "cross-site request refused") {
						t.Errorf("tokens %v: %s %s, %s: %d %q, want 403 cross-site request refused", withTokens, method, path, f.name, w.Code, w.Body)
					}
					if w.Header().Get("Set-Cookie") != "" {
						t.Errorf("tokens %v: %s %s, %s: a session cookie was set", withTokens, method, path, f.name)
					}
				}
			}
		}
		if n := ran(); n != 0 {
			t.Errorf("tokens %v: the endpoint ran %d times for cross-site requests", withTokens, n)
		}

		// Not a browser: no Origin, no Sec-Fetch-Site, no cookie.
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9443/api/v1/later", nil)
		req.Header.Set("Authorization", "Bearer writetoken-0123456789")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK || ran() != 1 {
			t.Errorf("tokens %v: a non-browser POST: %d %q, endpoint ran %d times; want it served", withTokens, w.Code, w.Body, ran())
		}
		// A page of this server.
		for _, hdr := range []map[string]string{{"Sec-Fetch-Site": "same-origin"}, {"Origin": "http://127.0.0.1:9443"}} {
			req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9443/api/v1/later", nil)
			req.Header.Set("Authorization", "Bearer writetoken-0123456789")
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				t.Errorf("tokens %v: a same-origin POST with %v: %d %q", withTokens, hdr, w.Code, w.Body)
			}
		}
		// Reading stays open to any page's links (the data is protected by
		// tokens and the Host check, not by this rule).
		req = httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9443/healthz-free", nil)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		w = httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code == http.StatusForbidden {
			t.Errorf("tokens %v: a cross-site GET was refused by the write rule", withTokens)
		}
	}
}

// TestTokenFileMustBeOwnerOnly: any permission for group or others refuses
// the file, naming it, its mode and the chmod to run.
func TestTokenFileMustBeOwnerOnly(t *testing.T) {
	for _, mode := range []os.FileMode{0o640, 0o620, 0o604, 0o602, 0o660, 0o644, 0o666} {
		p := writeTokens(t, "readtoken-0123456789\n", 0o600)
		if err := os.Chmod(p, mode); err != nil { // WriteFile's mode passes through the umask
			t.Fatal(err)
		}
		_, err := LoadTokens(p)
		if err == nil {
			t.Errorf("mode %04o accepted", mode)
			continue
		}
		for _, want := range []string{p, "mode 0" + strconv.FormatUint(uint64(mode), 8), "chmod 600 " + p} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("mode %04o: error %q lacks %q", mode, err, want)
			}
		}
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		p := writeTokens(t, "readtoken-0123456789\n", 0o600)
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadTokens(p); err != nil {
			t.Errorf("mode %04o refused: %v", mode, err)
		}
	}
	if _, err := LoadTokens(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory: %v", err)
	}
}

// TestFailedSignInsAreLimited: after loginBurst failures an address gets
// 429 with Retry-After, even for the right token; other addresses are not
// affected; successes cost nothing; the address may try again once the
// wait has passed.
func TestFailedSignInsAreLimited(t *testing.T) {
	tokens, err := LoadTokens(writeTokens(t, "writetoken-0123456789 write\n", 0o600))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	h, _ := protected(t, tokens, clock)
	login := func(addr, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9443/login",
			strings.NewReader(url.Values{"token": {token}, "next": {"/"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.RemoteAddr = addr
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	bearer := func(addr, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9443/", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.RemoteAddr = addr
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	const attacker, operator = "192.0.2.7:40000", "127.0.0.1:50000"

	// Successes do not count: interleaved with failures they never lead
	// to a refusal before loginBurst failures.
	for i := range loginBurst {
		if w := login(attacker, "wrong-token-0123456789"); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, w.Code)
		}
		if i == loginBurst-1 {
			break // the bucket is empty now
		}
		if w := login(attacker, "writetoken-0123456789"); w.Code != http.StatusSeeOther {
			t.Fatalf("right token after %d failures: %d, want 303", i+1, w.Code)
		}
	}
	if w := login(attacker, "wrong-token-0123456789"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("failure %d: %d, want 429", loginBurst+1, w.Code)
	}
	w := login(attacker, "writetoken-0123456789")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "10" || w.Header().Get("Set-Cookie") != "" ||
		!strings.Contains(w.Body.String(), "Too many failed sign-ins") {
		t.Errorf("limited address, right token: %d, Retry-After %q, body %q; want 429, Retry-After 10, no session",
			w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	if w := bearer(attacker, "wrong-token-0123456789"); w.Code != http.StatusTooManyRequests {
		t.Errorf("limited address, bearer token: %d, want 429", w.Code)
	}
	// Attempts while limited do not push the wait further.
	for range 50 {
		login(attacker, "wrong-token-0123456789")
	}
	if w := login(operator, "writetoken-0123456789"); w.Code != http.StatusSeeOther {
		t.Errorf("another address: %d, want 303", w.Code)
	}
	advance(loginEvery)
	if w := login(attacker, "writetoken-0123456789"); w.Code != http.StatusSeeOther {
		t.Errorf("after Retry-After: %d, want 303", w.Code)
	}

	// Bearer failures count like form failures.
	const scraper = "[2001:db8::1]:1234"
	for range loginBurst {
		if w := bearer(scraper, "wrong-token-0123456789"); w.Code != http.StatusUnauthorized {
			t.Fatalf("bearer failure: %d, want 401", w.Code)
		}
	}
	// The same /64 is the same client.
	if w := bearer("[2001:db8::2]:1234", "writetoken-0123456789"); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Errorf("bearer after %d failures in the /64: %d, want 429 with Retry-After", loginBurst, w.Code)
	}
}

// TestSessionCookieSecureOverTLS: signing in over HTTPS sets a Secure,
// HttpOnly, SameSite=Strict cookie.
func TestSessionCookieSecureOverTLS(t *testing.T) {
	tokens, err := LoadTokens(writeTokens(t, "writetoken-0123456789 write\n", 0o600))
	if err != nil {
		t.Fatal(err)
	}
	h, _ := protected(t, tokens, nil)
	ca := testcert.NewCA(t)
	pair := ca.Server(t, "controller")
	cert, err := tls.LoadX509KeyPair(pair.CertFile, pair.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(h)
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	ts.StartTLS()
	defer ts.Close()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/login", strings.NewReader("token=writetoken-0123456789"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", ts.URL)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookies := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || len(cookies) != 1 {
		t.Fatalf("sign-in over TLS: %d, cookies %v", resp.StatusCode, cookies)
	}
	if c := cookies[0]; !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Name != SessionCookie {
		t.Errorf("session cookie %s: Secure %v HttpOnly %v SameSite %v; want all three", c.Name, c.Secure, c.HttpOnly, c.SameSite)
	}
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:5000":           "127.0.0.1",
		"[2001:db8:1:2:3::4]:80":   "2001:db8:1:2::/64",
		"[::ffff:192.0.2.1]:80":    "192.0.2.1",
		"not-an-address":           "not-an-address",
		filepath.Join("/run", "x"): "/run/x",
	} {
		if got := clientKey(in); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFailureLimiterMemoryIsBounded: an attacker with many addresses makes
// the limiter track at most maxTrackedClients; newcomers beyond share one
// bucket until idle addresses are forgotten.
func TestFailureLimiterMemoryIsBounded(t *testing.T) {
	l := newFailureLimiter(loginEvery, loginBurst)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	req := func(addr string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/login", nil)
		r.RemoteAddr = addr
		return r
	}
	for i := range maxTrackedClients + 100 {
		if _, wait := l.attempt(req(fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255)), now); wait > 0 && i < maxTrackedClients {
			t.Fatalf("address %d limited after one failure", i)
		}
	}
	if n := len(l.clients); n != maxTrackedClients {
		t.Errorf("tracking %d addresses, want at most %d", n, maxTrackedClients)
	}
	if l.limiter("192.0.2.1", now) != l.overflow {
		t.Error("a newcomer beyond the bound has a bucket of its own")
	}
	later := now.Add(loginBurst * loginEvery)
	if lim := l.limiter("192.0.2.1", later); lim == l.overflow || len(l.clients) != 1 {
		t.Errorf("after the buckets refilled: overflow %v, tracking %d; want idle addresses forgotten", lim == l.overflow, len(l.clients))
	}
}
