package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed assets
var assetsFS embed.FS

// Options configure a Server. Zero values take the defaults named.
type Options struct {
	// Source is the status shown. Required.
	Source Source
	// Tokens, when set, are required on every request but the open paths
	// given to Protect. Nil serves without authentication, read-only, and
	// only to requests addressed to a loopback name.
	Tokens *Tokens
	// PageSize is the number of hosts per page of the fleet table. Default 100.
	PageSize int
	// Batch is the shortest interval between two live updates sent to a
	// page, so a burst of changes costs one refresh. Default 250ms.
	Batch time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives refused requests and failed sign-ins. Default: discard.
	Logger *slog.Logger
}

// Server renders the status pages and streams their updates.
type Server struct {
	opts     Options
	pages    *pages
	log      *slog.Logger
	failures *failureLimiter

	done      chan struct{}
	closeOnce sync.Once
}

// New checks the options and parses the templates.
func New(opts Options) (*Server, error) {
	if opts.Source == nil {
		return nil, errors.New("web: Source is required")
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 100
	}
	if opts.Batch <= 0 {
		opts.Batch = 250 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	return &Server{opts: opts, pages: p, log: opts.Logger, failures: newFailureLimiter(loginEvery, loginBurst),
		done: make(chan struct{})}, nil
}

// Close ends the live-update streams, so that a graceful HTTP shutdown does
// not wait for pages left open.
func (s *Server) Close() { s.closeOnce.Do(func() { close(s.done) }) }

// Register adds the page's routes to mux: / and everything not taken by
// more specific patterns.
func (s *Server) Register(mux *http.ServeMux) {
	assets, _ := fs.Sub(assetsFS, "assets")
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", assetHandler(http.FileServerFS(assets))))
	mux.HandleFunc("GET /{$}", s.fleet)
	mux.HandleFunc("GET /hosts/{name}", s.host)
	mux.HandleFunc("GET /resources/{kind}/{name}", s.resource)
	mux.HandleFunc("GET /search", s.search)
	mux.HandleFunc("GET /events", s.events)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /hosts/{name}/reconcile", s.reconcile)
}

func assetHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

// contentSecurityPolicy allows scripts, styles and connections from this
// server only: no inline script or style, no frames, forms post here only.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

type scopeKey struct{}

// Protect wraps every route of the controller's HTTP server: security
// headers on every response, cross-site requests refused whatever their
// path (see refuseCrossSite) and, with tokens, authentication on every path
// but open ones (exact paths such as /healthz for probes).
func (s *Server) Protect(next http.Handler, open ...string) http.Handler {
	isOpen := map[string]bool{}
	for _, p := range open {
		isOpen[p] = true
	}
	guarded := refuseCrossSite(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := s.opts.Tokens
		if t == nil {
			if !loopbackHost(r.Host) {
				http.Error(w, "this controller serves loopback clients only: open it at 127.0.0.1 or localhost, "+
					"or start it with --auth-token-file to serve other addresses", http.StatusMisdirectedRequest)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), scopeKey{}, ScopeRead)))
			return
		}
		if isOpen[r.URL.Path] || strings.HasPrefix(r.URL.Path, "/assets/") || (r.Method == http.MethodPost && r.URL.Path == "/login") {
			next.ServeHTTP(w, r)
			return
		}
		scope, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), scopeKey{}, scope)))
	}), s.log)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		guarded.ServeHTTP(w, r)
	})
}

// authenticate finds the scope of a request with tokens, or answers it (401,
// or 429 when its address failed too often) and returns false. A bearer
// token is a guess like a token typed into the form, and counts the same.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (Scope, bool) {
	now := s.opts.Now()
	if r.Header.Get("Authorization") == "" {
		scope := s.opts.Tokens.scope(r, now)
		if scope == ScopeNone {
			s.unauthorized(w, r, "")
		}
		return scope, scope != ScopeNone
	}
	succeeded, wait := s.failures.attempt(r, now)
	if wait > 0 {
		s.tooManyFailures(w, r, wait)
		return ScopeNone, false
	}
	scope := s.opts.Tokens.scope(r, now)
	if scope == ScopeNone {
		s.log.Warn("refused a bearer token", "method", r.Method, "path", r.URL.Path, "client", r.RemoteAddr)
		s.unauthorized(w, r, "")
		return ScopeNone, false
	}
	succeeded()
	return scope, true
}

// tooManyFailures answers 429 to an address that failed to sign in too
// often, saying when it may try again.
func (s *Server) tooManyFailures(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	w.Header().Set("Retry-After", retryAfter(wait))
	msg := fmt.Sprintf("too many failed sign-ins from %s; try again in %s seconds", clientKey(r.RemoteAddr), retryAfter(wait))
	if r.Method == http.MethodPost && r.URL.Path == "/login" {
		s.render(w, r, http.StatusTooManyRequests, "login", loginPage{page: page{Title: "Sign in"},
			Next: localPath(r.PostFormValue("next")), Problem: "Too many failed sign-ins: " + msg + "."})
		return
	}
	http.Error(w, "429 too many requests: "+msg, http.StatusTooManyRequests)
}

func scopeOf(r *http.Request) Scope {
	s, _ := r.Context().Value(scopeKey{}).(Scope)
	return s
}

// unauthorized answers 401: a browser gets the form asking for the token,
// any other client a plain message.
func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, problem string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="optimus"`)
	if r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html") || problem != "" {
		next := r.URL.RequestURI()
		if r.Method != http.MethodGet {
			next = localPath(r.FormValue("next"))
		}
		s.render(w, r, http.StatusUnauthorized, "login", loginPage{page: page{Title: "Sign in"}, Next: next, Problem: problem})
		return
	}
	http.Error(w, "401 unauthorized: send Authorization: Bearer TOKEN with a token from the controller's --auth-token-file", http.StatusUnauthorized)
}

// localPath keeps a redirect target on this server.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	return p
}

// login exchanges the token typed into the form for a session cookie, so
// that the browser (and its EventSource, which cannot send headers)
// authenticates every later request.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	t := s.opts.Tokens
	if t == nil {
		http.NotFound(w, r)
		return
	}
	now := s.opts.Now()
	succeeded, wait := s.failures.attempt(r, now)
	if wait > 0 {
		s.tooManyFailures(w, r, wait)
		return
	}
	scope := t.scopeOf(r.PostFormValue("token"))
	if scope == ScopeNone {
		s.log.Warn("refused a sign-in: wrong token", "client", r.RemoteAddr)
		s.unauthorized(w, r, "That token is not accepted.")
		return
	}
	succeeded()
	id, err := t.newSession(scope, now)
	if err != nil {
		http.Error(w, "cannot start a session: "+err.Error(), http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
}

// canWrite reports whether the request may queue reconciles.
func (s *Server) canWrite(r *http.Request) bool {
	_, ok := s.opts.Source.(Reconciler)
	return ok && s.opts.Tokens != nil && scopeOf(r) >= ScopeWrite
}

func (s *Server) reconcile(w http.ResponseWriter, r *http.Request) {
	if !s.canWrite(r) {
		http.Error(w, "403 forbidden: reconcile needs a token with write scope", http.StatusForbidden)
		return
	}
	name := r.PathValue("name")
	if s.opts.Source.Host(name) == nil {
		http.Error(w, fmt.Sprintf("404: no host %q in the current manifests", name), http.StatusNotFound)
		return
	}
	if err := s.opts.Source.(Reconciler).Reconcile(name); err != nil {
		http.Error(w, "reconcile "+name+": "+err.Error(), http.StatusConflict)
		return
	}
	http.Redirect(w, r, hostURL(name)+"?queued=1", http.StatusSeeOther)
}

// events streams a "change" event whenever the status changes, at most one
// per Batch interval, so a burst of host updates costs the page one refresh.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	ctx := r.Context()
	changes := s.opts.Source.Subscribe(ctx)
	fmt.Fprint(w, "retry: 1000\n\n")
	// The page says which status it shows; a change between its rendering
	// and this subscription is announced at once.
	if since, err := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64); err == nil &&
		s.opts.Source.Summary().UpdatedAt.UnixMilli() > since {
		fmt.Fprintf(w, "event: change\ndata: %d\n\n", time.Now().UnixMilli())
	}
	fl.Flush()
	heartbeat := time.NewTicker(20 * time.Second)
	defer heartbeat.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.done:
			return
		case <-heartbeat.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		case _, ok := <-changes:
			if !ok {
				return
			}
			if wait := s.opts.Batch - time.Since(last); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-s.done:
					return
				case <-time.After(wait):
				}
				select { // changes during the wait are in this event
				case <-changes:
				default:
				}
			}
			last = time.Now()
			fmt.Fprintf(w, "event: change\ndata: %d\n\n", last.UnixMilli())
			fl.Flush()
		}
	}
}

// MayWrite reports whether a request reached through Protect may change
// the controller through the API: with tokens, only a write-scoped bearer
// token may (the pages have no such controls, so a browser session never
// needs to); without tokens, Protect already kept the request to loopback
// clients and to requests that no other site's page sent.
func (s *Server) MayWrite(r *http.Request) bool {
	if s.opts.Tokens == nil {
		return true
	}
	return scopeOf(r) >= ScopeWrite && r.Header.Get("Authorization") != ""
}
