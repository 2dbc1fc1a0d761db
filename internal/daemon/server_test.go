package daemon

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/status"
)

// TestStatusAPIStreamsWithETag: the status is served whole as JSON, its
// ETag is the snapshot's version, and a poller with that ETag gets 304
// until a host changes.
func TestStatusAPIStreamsWithETag(t *testing.T) {
	tr := status.New()
	ref := v1alpha1.ResourceRef{Kind: "File", Name: "motd"}
	now := time.Now()
	tr.SetManifests([]status.Target{{Name: "web1", Address: "10.0.0.1", Resources: []v1alpha1.ResourceRef{ref}}},
		[]status.Resource{{Ref: ref, Generation: "g1"}}, now)
	get := func(etag string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/status", nil)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		rec := httptest.NewRecorder()
		serveStatus(rec, req, tr.Snapshot(), &v1alpha1.BuildInfo{Version: "v1.2.3", Revision: "eda5333"})
		return rec
	}
	first := get("")
	var st v1alpha1.ControllerStatus
	if err := json.Unmarshal(first.Body.Bytes(), &st); err != nil || first.Code != http.StatusOK {
		t.Fatalf("status %d, %v:\n%s", first.Code, err, first.Body)
	}
	if len(st.Hosts) != 1 || st.Hosts[0].Name != "web1" || len(st.Resources) != 1 || st.Resources[0].Name != "motd" {
		t.Errorf("status = %+v", st)
	}
	if st.Version == nil || st.Version.Version != "v1.2.3" || st.Version.Revision != "eda5333" {
		t.Errorf("status version = %+v, want the controller's build", st.Version)
	}
	etag := first.Header().Get("ETag")
	if again := get(etag); etag == "" || again.Code != http.StatusNotModified || again.Body.Len() != 0 {
		t.Errorf("same version with If-None-Match %q: %d %q", etag, again.Code, again.Body)
	}
	tr.UpdateHost("web1", now, func(h *status.Host) { h.Status.LastError = "changed" })
	if changed := get(etag); changed.Code != http.StatusOK || changed.Header().Get("ETag") == etag {
		t.Errorf("after a change: %d, ETag %q (was %q)", changed.Code, changed.Header().Get("ETag"), etag)
	}
}
