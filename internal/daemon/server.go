package daemon

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/status"
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
		// With list parameters the answer is one page; without, the whole
		// document as before, for the clients written against it.
		if status.IsList(req.URL.Query()) {
			d.serveHostList(w, req)
			return
		}
		if d.opts.Replica != nil {
			b, err := d.fleetStatus(req.Context())
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(b)
			return
		}
		serveStatus(w, req, d.status.Snapshot(), d.opts.Version)
	})
	mux.HandleFunc("GET /api/v1/summary", func(w http.ResponseWriter, req *http.Request) {
		leases, err := summaryParams(req.URL.Query())
		if err != nil {
			http.Error(w, "400 bad request: "+err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, d.summary(req.Context(), leases))
	})
	mux.HandleFunc("GET /api/v1/rollout", func(w http.ResponseWriter, _ *http.Request) {
		st := d.RolloutStatus()
		if st == nil {
			http.Error(w, "404: no rollout: the manifests hold no RolloutPolicy, or no change of them has been rolled out", http.StatusNotFound)
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
// Tracker, say). Call it before Run. The route gets what every route gets:
// tokens when the daemon has them, and no request but GET and HEAD from
// another site's page.
func (d *Daemon) Handle(pattern string, h http.Handler) {
	d.routes = append(d.routes, route{pattern, h})
}

type route struct {
	pattern string
	handler http.Handler
}

// serveStatus writes the status of snap, streamed one host and one
// resource at a time: at a thousand hosts of sixty resources the document
// is megabytes, which a cached copy would keep in the controller's memory
// for good. The snapshot's version is its ETag, so a poller that sends
// If-None-Match gets 304 until something changed. build is the
// controller's version, reported with the status.
func serveStatus(w http.ResponseWriter, req *http.Request, snap *status.Snapshot, build *v1alpha1.BuildInfo) {
	etag := `"` + strconv.FormatUint(snap.Version, 10) + `"`
	w.Header().Set("ETag", etag)
	if req.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	bw := bufio.NewWriterSize(w, 32<<10)
	st := snap.ControllerStatus()
	st.Version = build
	if err := encodeStatus(bw, st); err == nil {
		_ = bw.Flush()
	}
}
