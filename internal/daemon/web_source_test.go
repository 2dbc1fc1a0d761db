package daemon

import (
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/status"
)

// TestStatusPageReadsPages: the fleet page shows the tracker's counts and
// a page of hosts in name order with a link to the next; the host,
// resource and search pages read the one host or resource they show.
func TestStatusPageReadsPages(t *testing.T) {
	d := newAPIDaemon(t, 250)
	now := time.Now()
	d.status.UpdateHost("host00042", now, func(h *status.Host) {
		h.Status.Conditions = []v1alpha1.Condition{{Type: v1alpha1.ConditionQuarantined, Status: v1alpha1.ConditionTrue, Reason: "AuthFailed"}}
		h.Status.LastError = "ssh: unable to authenticate"
		h.Resources = []status.ResourceState{{Ref: v1alpha1.ResourceRef{Kind: "File", Name: "motd"}, State: status.StateFailed, Message: "denied"}}
	})

	body := pageOf(t, d, "/")
	for _, want := range []string{`<span class="n">1</span> <span class="label">Quarantined</span>`,
		`<span class="n">249</span> <span class="label">Pending</span>`, "Hosts 1–100 of 250", `rel="next"`, `data-host="host00099"`} {
		if !strings.Contains(body, want) {
			t.Errorf("fleet page lacks %q", want)
		}
	}
	if strings.Contains(body, `data-host="host00100"`) {
		t.Error("the first page shows more than 100 hosts")
	}
	body = pageOf(t, d, "/?state=Quarantined")
	if n := strings.Count(body, "<tr data-host="); n != 1 || !strings.Contains(body, "ssh: unable to authenticate") {
		t.Errorf("state=Quarantined: %d rows\n%s", n, body)
	}
	if body = pageOf(t, d, "/?q=host0024"); strings.Count(body, "<tr data-host=") != 10 {
		t.Errorf("q=host0024: %d rows, want host00240 to host00249", strings.Count(body, "<tr data-host="))
	}
	body = pageOf(t, d, "/hosts/host00042")
	if !strings.Contains(body, "File/motd") || !strings.Contains(body, "denied") {
		t.Error("host page lacks the host's resource state")
	}
	body = pageOf(t, d, "/resources/File/motd")
	if !strings.Contains(body, "failed on host00042: denied") || !strings.Contains(body, "host00249") {
		t.Error("resource page lacks why it is not ready, or its hosts")
	}
	body = pageOf(t, d, "/search?q=host001")
	if n := strings.Count(body, `<a href="/hosts/host001`); n != 100 || !strings.Contains(body, "the first 100 by name") {
		t.Errorf("search host001: %d hosts listed, want the first 100 and a note", n)
	}
}
