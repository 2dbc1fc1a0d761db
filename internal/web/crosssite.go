package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// refuseCrossSite is the one rule that keeps other sites' pages from
// changing the controller: a request with any method but GET, HEAD and
// OPTIONS must come from one of the controller's own pages or from a client
// that is not a browser. It wraps the whole mux, so an endpoint added later
// is covered without doing anything.
//
// Browsers say where a request comes from (Sec-Fetch-Site, or Origin on
// older ones and over plain HTTP to other machines); the standard library's
// CrossOriginProtection compares them with the request's own host. A
// request carrying neither is a non-browser client such as optimus rollout
// or curl, and is let through, unless it carries a cookie: only a browser
// sends our session cookie, and one that sends it without saying where the
// request comes from cannot be told apart from a forged one.
func refuseCrossSite(next http.Handler, log *slog.Logger) http.Handler {
	cop := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := cop.Check(r)
		if err == nil && !safeMethod(r.Method) && r.Header.Get("Sec-Fetch-Site") == "" && r.Header.Get("Origin") == "" && len(r.Cookies()) > 0 {
			err = errors.New("a browser request that carries cookies but neither Sec-Fetch-Site nor Origin")
		}
		if err == nil {
			next.ServeHTTP(w, r)
			return
		}
		from := r.Header.Get("Origin")
		if from == "" {
			from = "unknown"
		}
		log.Warn("refused a cross-site request", "method", r.Method, "path", r.URL.Path, "origin", from,
			"sec_fetch_site", r.Header.Get("Sec-Fetch-Site"), "client", r.RemoteAddr)
		http.Error(w, fmt.Sprintf("403 forbidden: cross-site request refused: %s %s from origin %s (%v). "+
			"This controller accepts changes only from its own pages (open it at %s) or from clients that are not browsers "+
			"(optimus rollout, curl)", r.Method, r.URL.Path, from, err, r.Host), http.StatusForbidden)
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}
