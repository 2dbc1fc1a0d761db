package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/daemon"
	"github.com/optimus-cm/optimus/internal/status"
)

// pagingController serves the summary and host pages of a tracker of n
// hosts, as optimus-controller does, and records the list requests.
func pagingController(t *testing.T, n int) (*httptest.Server, func() []string) {
	t.Helper()
	tr := status.New()
	targets := make([]status.Target, n)
	for i := range targets {
		targets[i] = status.Target{Name: fmt.Sprintf("web%02d", i)}
	}
	now := time.Now()
	tr.SetManifests(targets, nil, now)
	tr.UpdateHost("web03", now, func(h *status.Host) {
		h.Status.Conditions = []v1alpha1.Condition{{Type: v1alpha1.ConditionQuarantined, Status: v1alpha1.ConditionTrue, Reason: "AuthFailed"}}
	})
	labels := func(h string) map[string]string {
		if h < "web03" {
			return map[string]string{"role": "web"}
		}
		return nil
	}
	var mu sync.Mutex
	var lists []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/summary":
			_ = json.NewEncoder(w).Encode(daemon.Summary{Counts: tr.Counts()})
		case "/api/v1/status":
			mu.Lock()
			lists = append(lists, r.URL.RawQuery)
			mu.Unlock()
			q, err := status.ParseQuery(r.URL.Query())
			if err != nil {
				http.Error(w, "400 bad request: "+err.Error(), http.StatusBadRequest)
				return
			}
			p := tr.Page(q, labels)
			l := daemon.HostList{Metadata: daemon.ListMeta{Continue: p.Continue, ResourceVersion: strconv.FormatUint(p.Version, 10)}}
			for _, h := range p.Hosts {
				l.Items = append(l.Items, daemon.HostItem{HostStatus: h.Status})
			}
			_ = json.NewEncoder(w).Encode(l)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(ts.Close)
	return ts, func() []string { mu.Lock(); defer mu.Unlock(); return lists }
}

// TestGetHostsFollowsPages: get hosts reads the list page by page without
// resource states, prints one table with one header in name order, and
// passes -l and --state to the controller.
func TestGetHostsFollowsPages(t *testing.T) {
	ts, lists := pagingController(t, 7)
	code, out, errOut := runCLI(t, nil, "get", "hosts", "--controller", ts.URL, "--chunk-size", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 8 || !strings.HasPrefix(lines[0], "NAME") || strings.Count(out, "NAME") != 1 {
		t.Fatalf("want a header and 7 rows:\n%s", out)
	}
	for i, line := range lines[1:] {
		if !strings.HasPrefix(line, fmt.Sprintf("web%02d ", i)) {
			t.Errorf("row %d = %q, want web%02d", i, line, i)
		}
	}
	if !strings.Contains(lines[4], "AuthFailed") {
		t.Errorf("web03 row %q does not say AuthFailed", lines[4])
	}
	if got := lists(); len(got) != 3 || !strings.Contains(got[0], "resources=false") || !strings.Contains(got[0], "limit=3") || !strings.Contains(got[1], "continue=") {
		t.Errorf("list requests %q, want 3 pages of 3 without resources", got)
	}

	code, out, _ = runCLI(t, nil, "get", "hosts", "--controller", ts.URL, "-l", "role=web", "-o", "name")
	if code != 0 || out != "host/web00\nhost/web01\nhost/web02\n" {
		t.Errorf("-l role=web -o name: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, nil, "get", "hosts", "--controller", ts.URL, "--state", "quarantined", "-o", "json", "--chunk-size", "1")
	var hosts []v1alpha1.HostStatus
	if err := json.Unmarshal([]byte(out), &hosts); code != 0 || err != nil || len(hosts) != 1 || hosts[0].Name != "web03" {
		t.Errorf("--state quarantined -o json: exit %d, %v\n%s", code, err, out)
	}
	code, out, _ = runCLI(t, nil, "get", "hosts", "--controller", ts.URL, "-o", "json", "--chunk-size", "2")
	if err := json.Unmarshal([]byte(out), &hosts); code != 0 || err != nil || len(hosts) != 7 {
		t.Errorf("-o json over 4 pages: exit %d, %v, %d hosts\n%s", code, err, len(hosts), out)
	}
	code, _, errOut = runCLI(t, nil, "get", "hosts", "--controller", ts.URL, "--state", "sleepy")
	if code != exitInvalid || !strings.Contains(errOut, "ready, quarantined or pending") {
		t.Errorf("--state sleepy: exit %d, %s", code, errOut)
	}
	code, _, errOut = runCLI(t, nil, "get", "resources", "--controller", ts.URL, "-l", "role=web")
	if code != exitInvalid || !strings.Contains(errOut, "get hosts") {
		t.Errorf("get resources -l: exit %d, %s", code, errOut)
	}
}
