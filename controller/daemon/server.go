package daemon

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// handler serves health, readiness, metrics, the status API and the
// status page; with tokens, everything but health and readiness needs one.
func (d *Daemon) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !d.ready.Load() {
			http.Error(w, "first pass over all hosts not finished", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.m.registry, promhttp.HandlerOpts{}))
	for _, r := range d.routes {
		mux.Handle(r.pattern, r.handler)
	}
	mux.HandleFunc("GET /api/v1/status", func(w http.ResponseWriter, req *http.Request) {
		var b []byte
		var err error
		if d.opts.Replica != nil {
			b, err = d.fleetStatus(req.Context())
		} else {
			b, err = d.api.get(d)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	})
	mux.HandleFunc("GET /api/v1/rollout", func(w http.ResponseWriter, _ *http.Request) {
		st := d.RolloutStatus()
		if st == nil {
			http.Error(w, "404: no rollout: the manifests have not changed since the controller started, or they hold no RolloutPolicy", http.StatusNotFound)
			return
		}
		writeJSON(w, st)
	})
	rolloutAction := func(act func() (*v1alpha1.RolloutStatus, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !d.page.MayWrite(r) {
				http.Error(w, "403 forbidden: changing a rollout needs a bearer token with write scope", http.StatusForbidden)
				return
			}
			st, err := act()
			if err != nil {
				http.Error(w, "409 conflict: "+err.Error(), http.StatusConflict)
				return
			}
			writeJSON(w, st)
		}
	}
	mux.HandleFunc("POST /api/v1/rollout/resume", rolloutAction(d.ResumeRollout))
	mux.HandleFunc("POST /api/v1/rollout/abort", rolloutAction(d.AbortRollout))
	d.page.Register(mux)
	return d.page.Protect(mux, "/healthz", "/readyz")
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// Handle adds a route to the daemon's HTTP server (a status page reading
// Tracker, say). Call it before Run.
func (d *Daemon) Handle(pattern string, h http.Handler) {
	d.routes = append(d.routes, route{pattern, h})
}

type route struct {
	pattern string
	handler http.Handler
}

// apiCache keeps the encoded status of the last snapshot served, so that
// readers polling between two changes cost a pointer comparison.
type apiCache struct {
	mu      sync.Mutex
	version uint64
	body    []byte
}

func (c *apiCache) get(d *Daemon) ([]byte, error) {
	snap := d.status.Snapshot()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.body != nil && c.version == snap.Version {
		return c.body, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(snap.ControllerStatus()); err != nil {
		return nil, err
	}
	c.version, c.body = snap.Version, buf.Bytes()
	return c.body, nil
}
