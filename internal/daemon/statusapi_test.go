package daemon

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/status"
	"github.com/optimus-cm/optimus/reconcilers"
)

func newAPIDaemon(t testing.TB, hosts int) *Daemon {
	t.Helper()
	reg, err := reconcilers.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	scheme, err := v1alpha1.NewScheme(v1alpha1.HostKind)
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Options{Dir: t.TempDir(), Scheme: scheme, Registry: reg, Version: &v1alpha1.BuildInfo{Version: "v9.9.9"}})
	if err != nil {
		t.Fatal(err)
	}
	targets := make([]status.Target, hosts)
	ref := v1alpha1.ResourceRef{Kind: "File", Name: "motd"}
	for i := range targets {
		targets[i] = status.Target{Name: fmt.Sprintf("host%05d", i), Resources: []v1alpha1.ResourceRef{ref}}
	}
	d.status.SetManifests(targets, []status.Resource{{Ref: ref}}, time.Now())
	return d
}

func apiGet(t testing.TB, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1"+path, nil)
	req.RemoteAddr = "127.0.0.1:40000" // the page serves loopback clients only
	h.ServeHTTP(rec, req)
	return rec
}

// TestStatusListAndSummary: with list parameters /api/v1/status answers
// one page with a continue token, resources=false leaves the resource
// states out, bad parameters get 400 saying why, and /api/v1/summary
// counts the fleet; without parameters the whole document is served as
// before.
func TestStatusListAndSummary(t *testing.T) {
	d := newAPIDaemon(t, 7)
	now := time.Now()
	d.status.UpdateHost("host00003", now, func(h *status.Host) {
		h.Status.Conditions = v1alpha1.SetCondition(h.Status.Conditions,
			v1alpha1.Condition{Type: v1alpha1.ConditionQuarantined, Status: v1alpha1.ConditionTrue, Reason: "AuthFailed"}, now)
	})
	h := d.handler()

	var all []string
	path := "/api/v1/status?limit=3"
	for pages := 0; path != ""; pages++ {
		rec := apiGet(t, h, path)
		var l HostList
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &l) != nil {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		if pages == 0 && (l.Metadata.Total == nil || *l.Metadata.Total != 7 || l.Metadata.RemainingItemCount == nil || *l.Metadata.RemainingItemCount != 4) {
			t.Errorf("first page metadata %+v, want total 7, 4 remaining", l.Metadata)
		}
		for _, it := range l.Items {
			all = append(all, it.Name)
			if len(it.ResourceStates) != 1 || it.ResourceStates[0].Ref.Name != "motd" {
				t.Errorf("%s: resource states %+v, want motd's", it.Name, it.ResourceStates)
			}
		}
		path = ""
		if l.Metadata.Continue != "" {
			path = "/api/v1/status?limit=3&continue=" + url.QueryEscape(l.Metadata.Continue)
		}
	}
	if len(all) != 7 || all[0] != "host00000" || all[6] != "host00006" {
		t.Errorf("listed %v", all)
	}

	rec := apiGet(t, h, "/api/v1/status?state=quarantined&resources=false")
	var l HostList
	_ = json.Unmarshal(rec.Body.Bytes(), &l)
	if len(l.Items) != 1 || l.Items[0].Name != "host00003" || l.Items[0].ResourceStates != nil || *l.Metadata.Total != 1 {
		t.Errorf("state=quarantined&resources=false: %s", rec.Body)
	}

	if rec := apiGet(t, h, "/api/v1/status?limit=-1"); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "limit") {
		t.Errorf("limit=-1: %d %s, want 400 naming the limit", rec.Code, rec.Body)
	}

	var sum Summary
	rec = apiGet(t, h, "/api/v1/summary")
	if err := json.Unmarshal(rec.Body.Bytes(), &sum); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("summary: %d %v %s", rec.Code, err, rec.Body)
	}
	if sum.Counts.Hosts != 7 || sum.Counts.Quarantined != 1 || sum.Counts.Pending != 6 || sum.Version == nil || sum.Version.Version != "v9.9.9" {
		t.Errorf("summary %+v", sum)
	}

	var st v1alpha1.ControllerStatus
	if rec := apiGet(t, h, "/api/v1/status"); json.Unmarshal(rec.Body.Bytes(), &st) != nil || len(st.Hosts) != 7 || len(st.Resources) != 1 {
		t.Errorf("whole document without parameters: %d %.200s", rec.Code, rec.Body)
	}
}

// BenchmarkStatusPage: one page of 100 hosts, without resource states,
// out of 10,000, served through the handler. Its cost is the page's, not
// the fleet's.
func BenchmarkStatusPage(b *testing.B) {
	d := newAPIDaemon(b, 10000)
	h := d.handler()
	first := apiGet(b, h, "/api/v1/status?limit=100&resources=false")
	var l HostList
	if err := json.Unmarshal(first.Body.Bytes(), &l); err != nil || len(l.Items) != 100 {
		b.Fatalf("%d %v", first.Code, err)
	}
	// A page from the middle of the fleet, as a client following continue gets.
	mid := "/api/v1/status?limit=100&resources=false&continue=" + url.QueryEscape(tokenAfter(b, h, 5000))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if rec := apiGet(b, h, mid); rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

// tokenAfter walks pages of 100 until n hosts were listed and returns the
// continue token there.
func tokenAfter(b *testing.B, h http.Handler, n int) string {
	tok := ""
	for listed := 0; listed < n; listed += 100 {
		rec := apiGet(b, h, "/api/v1/status?limit=100&resources=false&continue="+url.QueryEscape(tok))
		var l HostList
		if err := json.Unmarshal(rec.Body.Bytes(), &l); err != nil {
			b.Fatal(err)
		}
		tok = l.Metadata.Continue
	}
	return tok
}

// BenchmarkStatusWhole: the whole document of the same 10,000 hosts, as
// /api/v1/status without parameters serves it, for comparison with a page.
func BenchmarkStatusWhole(b *testing.B) {
	d := newAPIDaemon(b, 10000)
	h := d.handler()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if rec := apiGet(b, h, "/api/v1/status"); rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
