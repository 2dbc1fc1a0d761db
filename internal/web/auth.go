package web

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Scope is what a token allows.
type Scope int

// Scopes. Write includes read.
const (
	ScopeNone Scope = iota
	ScopeRead
	ScopeWrite
)

// MinTokenLength keeps guessable tokens out of token files.
const MinTokenLength = 16

// Tokens are the bearer tokens accepted by the page and the API.
type Tokens struct {
	// digests of the tokens, so that comparing costs the same whatever the
	// length of the candidate.
	entries []tokenEntry

	mu       sync.Mutex
	sessions map[[32]byte]session
}

type tokenEntry struct {
	digest [32]byte
	scope  Scope
}

type session struct {
	scope   Scope
	expires time.Time
}

// sessionTTL bounds how long a browser session lasts without asking for
// the token again.
const sessionTTL = 12 * time.Hour

// SessionCookie is the name of the cookie that keeps a browser's session.
const SessionCookie = "optimus_session"

// LoadTokens reads a token file: one token per line, optionally followed by
// its scope, "read" (the default) or "write"; blank lines and lines starting
// with # are ignored. The file must be a regular file that only its owner
// may read or write (mode 600 or 400).
func LoadTokens(path string) (*Tokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--auth-token-file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("--auth-token-file: %w", err)
	}
	// The tokens are passwords: a file that users other than its owner may
	// read gives them away, and one they may write lets them add their own.
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("--auth-token-file %s: not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("--auth-token-file %s: mode %04o lets its group or other users read or change the tokens; "+
			"the file must be readable by its owner only: run chmod 600 %s", path, perm, path)
	}
	t := &Tokens{sessions: map[[32]byte]session{}}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		scope := ScopeRead
		switch {
		case len(fields) == 2 && fields[1] == "write":
			scope = ScopeWrite
		case len(fields) == 2 && fields[1] == "read":
		case len(fields) == 1:
		default:
			return nil, fmt.Errorf("%s:%d: want TOKEN, TOKEN read or TOKEN write", path, n)
		}
		if len(fields[0]) < MinTokenLength {
			return nil, fmt.Errorf("%s:%d: token shorter than %d characters; generate one with: head -c 32 /dev/urandom | base64", path, n, MinTokenLength)
		}
		t.entries = append(t.entries, tokenEntry{digest: sha256.Sum256([]byte(fields[0])), scope: scope})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--auth-token-file %s: %w", path, err)
	}
	if len(t.entries) == 0 {
		return nil, fmt.Errorf("--auth-token-file %s: no token in the file", path)
	}
	return t, nil
}

// scopeOf compares token with every known token in constant time.
func (t *Tokens) scopeOf(token string) Scope {
	d := sha256.Sum256([]byte(token))
	best := ScopeNone
	for _, e := range t.entries {
		if subtle.ConstantTimeCompare(d[:], e.digest[:]) == 1 && e.scope > best {
			best = e.scope
		}
	}
	return best
}

func (t *Tokens) newSession(scope Scope, now time.Time) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	id := base64.RawURLEncoding.EncodeToString(b)
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, s := range t.sessions {
		if now.After(s.expires) {
			delete(t.sessions, k)
		}
	}
	t.sessions[sha256.Sum256([]byte(id))] = session{scope: scope, expires: now.Add(sessionTTL)}
	return id, nil
}

// sessionScope looks a session up by the digest of its id, so the lookup's
// timing says nothing about valid ids.
func (t *Tokens) sessionScope(id string, now time.Time) Scope {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.sessions[sha256.Sum256([]byte(id))]
	if !ok || now.After(s.expires) {
		return ScopeNone
	}
	return s.scope
}

// scope is what the request is allowed: from its bearer token, or from its
// session cookie.
func (t *Tokens) scope(r *http.Request, now time.Time) Scope {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return ScopeNone
		}
		return t.scopeOf(strings.TrimSpace(tok))
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return t.sessionScope(c.Value, now)
	}
	return ScopeNone
}

// IsLoopback reports whether a listen address only accepts connections
// from this machine. An empty host (all interfaces) is not loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackHost reports whether a request's Host header names this machine,
// which stops a DNS-rebinding page from reading an unauthenticated
// loopback server.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
