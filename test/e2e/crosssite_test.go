package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/test/testhost"
)

// crossSiteWrites are the state-changing endpoints a page can reach
// without a preflight: a form or a no-cors fetch can only POST.
var crossSiteWrites = []string{"/api/v1/rollout/resume", "/api/v1/rollout/abort", "/hosts/web/reconcile", "/login"}

// hostilePage is another site's page. Opened with ?path=P it submits a
// form to the controller's P as soon as it loads (the browser then shows
// the controller's answer); opened with ?fetch=1 it POSTs to every
// endpoint with fetch, cookies included, and /login a dozen times with a
// guessed token.
const hostilePage = `<!doctype html><meta charset="utf-8"><title>a page of another site</title>
<form id="f" method="post" action="%[1]s%[2]s"><input name="token" value="guess-0123456789abcdef"><input name="next" value="/"></form>
<script>
const ctl = %[1]q, fetchAll = %[3]t, paths = %[4]s;
(async () => {
  if (!fetchAll) { document.getElementById('f').submit(); return; }
  const targets = paths.concat(Array(12).fill('/login'));
  for (const p of targets) {
    try {
      await fetch(ctl + p, {method: 'POST', mode: 'no-cors', credentials: 'include',
        headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'token=guess-0123456789abcdef'});
    } catch (e) {}
  }
  window.__attacked = true;
})();
</script>`

// seenRequest is a request the browser sent to the controller, as the
// browser's own network log saw it: a page cannot read the answer to a
// no-cors request, but the test can.
type seenRequest struct {
	method, url, site string
	cookie            bool
	status            int64
}

// networkLog records the browser's requests to the controller.
type networkLog struct {
	mu   sync.Mutex
	reqs map[network.RequestID]*seenRequest
}

func watchNetwork(t *testing.T, b *browser, ctlBase string) *networkLog {
	t.Helper()
	l := &networkLog{reqs: map[network.RequestID]*seenRequest{}}
	get := func(id network.RequestID) *seenRequest {
		r := l.reqs[id]
		if r == nil {
			r = &seenRequest{}
			l.reqs[id] = r
		}
		return r
	}
	if err := chromedp.Listen(b.ctx, func(ev any) {
		l.mu.Lock()
		defer l.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			if strings.HasPrefix(e.Request.URL, ctlBase) {
				r := get(e.RequestID)
				r.method, r.url = e.Request.Method, e.Request.URL
			}
		case *network.EventRequestWillBeSentExtraInfo:
			// The headers as sent, cookies and Sec-Fetch-Site included.
			r := get(e.RequestID)
			for k, v := range e.Headers {
				switch strings.ToLower(k) {
				case "cookie":
					r.cookie = strings.Contains(fmt.Sprint(v), "optimus_session=")
				case "sec-fetch-site":
					r.site = fmt.Sprint(v)
				}
			}
		case *network.EventResponseReceived:
			if strings.HasPrefix(e.Response.URL, ctlBase) {
				get(e.RequestID).status = e.Response.Status
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	return l
}

// writes returns the POSTs to the controller seen so far, once each has
// its answer, and forgets them.
func (l *networkLog) writes(t *testing.T, want int) []seenRequest {
	t.Helper()
	var out []seenRequest
	eventually(t, 30*time.Second, fmt.Sprintf("the browser's %d POSTs to the controller answered", want), func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		n := 0
		for _, r := range l.reqs {
			if r.method == http.MethodPost && r.status != 0 {
				n++
			}
		}
		return n >= want
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, r := range l.reqs {
		if r.method == http.MethodPost && r.status != 0 {
			out = append(out, *r)
		}
		delete(l.reqs, id)
	}
	return out
}

// crossSiteFleet is a canary on a closed port and one real host, web,
// under a policy of one canary batch and no failure allowed: a change
// halts at the canary and web is kept on its previous configuration.
type crossSiteFleet struct {
	dir, key string
	tokens   string // the token file of the subtest with tokens
	port     int
	web      *testhost.Host
}

func (f *crossSiteFleet) write(t *testing.T, version string) {
	t.Helper()
	m := fmt.Sprintf(`apiVersion: optimus.dev/v1alpha1
kind: Host
metadata: {name: canary}
spec: {address: 127.0.0.1, port: %d, privateKeyFile: %s, hostKey: {policy: insecure}, connectTimeout: 1s}
---
apiVersion: optimus.dev/v1alpha1
kind: Host
metadata: {name: web}
spec: {address: 127.0.0.1, port: %d, privateKeyFile: %s, hostKey: {knownHostsFile: %s}, connectTimeout: 60s}
---
apiVersion: optimus.dev/v1alpha1
kind: RolloutPolicy
metadata: {name: canary-first}
spec: {batches: ["1", "100%%"], maxFail: "0"}
---
apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: crosssite}
spec: {path: /srv/optimus-crosssite.conf, content: %q}
`, f.port, f.key, f.web.Port, f.web.KeyFile, f.web.KnownHostsFile, version)
	tmp := filepath.Join(f.dir, ".fleet.tmp")
	writeFile(t, tmp, m)
	if err := os.Rename(tmp, filepath.Join(f.dir, "fleet.yaml")); err != nil {
		t.Fatal(err)
	}
}

func (f *crossSiteFleet) webConfig(t *testing.T) string {
	return strings.TrimSpace(f.web.Exec(t, "cat /srv/optimus-crosssite.conf 2>/dev/null || true"))
}

// apiGet reads the controller's API as a client that is not a browser.
func apiGet(t *testing.T, base, token, path string, v any) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(v) == nil
}

// halt starts a controller on version 1, waits for web to have it, then
// changes to version 2 and waits for the rollout to halt at the canary.
func (f *crossSiteFleet) halt(t *testing.T, token string, extra ...string) *controllerProc {
	t.Helper()
	f.write(t, "version 1")
	args := append([]string{"--resync", "10m", "--backoff-initial", "60s", "--backoff-max", "120s"}, extra...)
	c := startController(t, f.dir, args...)
	base := "http://" + c.addr
	eventually(t, 60*time.Second, "web has version 1 and is Ready", func() bool {
		var st v1alpha1.ControllerStatus
		return apiGet(t, base, token, "/api/v1/status", &st) && hostCondition(&st, "web", v1alpha1.ConditionReady) == "True" &&
			f.webConfig(t) == "version 1"
	})
	f.write(t, "version 2")
	eventually(t, 60*time.Second, "the rollout halted at the canary", func() bool {
		var ro v1alpha1.RolloutStatus
		return apiGet(t, base, token, "/api/v1/rollout", &ro) && ro.Phase == v1alpha1.RolloutHalted
	})
	return c
}

// webLastRun is when web was last reconciled: a reconcile queued by a page
// would change it (resync is 10 minutes away).
func webLastRun(t *testing.T, base, token string) time.Time {
	t.Helper()
	var st v1alpha1.ControllerStatus
	if !apiGet(t, base, token, "/api/v1/status", &st) {
		t.Fatal("cannot read /api/v1/status")
	}
	for _, h := range st.Hosts {
		if h.Name == "web" && h.LastRun != nil {
			return h.LastRun.Start
		}
	}
	t.Fatal("web has no last run")
	return time.Time{}
}

// attack opens the hostile page from origin: one form per endpoint, then
// the fetches. It returns the browser's record of every POST and the text
// each form's answer showed.
func attack(t *testing.T, b *browser, log *networkLog, origin, ctlBase string) ([]seenRequest, map[string]string) {
	t.Helper()
	shown := map[string]string{}
	for _, p := range crossSiteWrites {
		b.open(t, origin+"/?path="+p)
		b.waitFor(t, 20*time.Second, "the form's answer from "+p, fmt.Sprintf(
			`location.href === %q && document.readyState === 'complete'`, ctlBase+p))
		shown[p] = eval[string](t, b, `performance.getEntriesByType('navigation')[0].responseStatus + ' ' + document.body.innerText`)
	}
	b.open(t, origin+"/?fetch=1")
	b.waitFor(t, 30*time.Second, "the page's fetches done", `window.__attacked === true`)
	return log.writes(t, len(crossSiteWrites)*2+12), shown
}

// TestCrossSitePagesCannotChangeTheController: pages of another site (one
// on another port of 127.0.0.1, which browsers count as the same site and
// send SameSite cookies to, and one on localhost) submit forms and fetches
// to every state-changing endpoint of a loopback controller, without
// tokens and then with tokens and a signed-in write session. Every request
// is refused, the halted rollout stays halted, web keeps its configuration
// and is not reconciled; then optimus rollout resume, which is not a
// browser, still works.
func TestCrossSitePagesCannotChangeTheController(t *testing.T) {
	b := newBrowser(t)
	f := &crossSiteFleet{dir: t.TempDir(), key: privateKey(t), port: freePort(t), web: testhost.Start(t, 1)[0]}

	var ctlBase string // the controller under attack, set by each subtest
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths, _ := json.Marshal(crossSiteWrites)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, hostilePage, ctlBase, r.URL.Query().Get("path"), r.URL.Query().Get("fetch") == "1", paths)
	}))
	defer hostile.Close()
	_, port, _ := strings.Cut(strings.TrimPrefix(hostile.URL, "http://"), ":")
	origins := map[string]string{"same-site": hostile.URL, "cross-site": "http://localhost:" + port}

	check := func(t *testing.T, c *controllerProc, token string, withSession bool) {
		base := "http://" + c.addr
		ctlBase = base
		log := watchNetwork(t, b, base)
		before := webLastRun(t, base, token)
		for site, origin := range origins {
			reqs, shown := attack(t, b, log, origin, base)
			for p, text := range shown {
				if !strings.HasPrefix(text, "403 ") || !strings.Contains(text, "cross-site request refused") {
					t.Errorf("%s form to %s: the browser showed %q, want 403 cross-site request refused", site, p, text)
				}
			}
			cookies := 0
			for _, r := range reqs {
				if r.status != http.StatusForbidden {
					t.Errorf("%s POST %s (Sec-Fetch-Site %s): %d, want 403", site, r.url, r.site, r.status)
				}
				if r.site != site {
					t.Errorf("POST %s from the %s page was sent with Sec-Fetch-Site %q", r.url, site, r.site)
				}
				if r.cookie {
					cookies++
				}
			}
			// SameSite=Strict keeps the cookie off cross-site requests, not
			// off another port of the same machine: the rule is what
			// refuses those.
			if withSession && site == "same-site" && cookies != len(reqs) {
				t.Errorf("only %d of %d same-site POSTs carried the session cookie; the test must show it refused with the cookie", cookies, len(reqs))
			}
			t.Logf("%s page: %d POSTs refused (%d with the session cookie)", site, len(reqs), cookies)
		}
		var ro v1alpha1.RolloutStatus
		if !apiGet(t, base, token, "/api/v1/rollout", &ro) || ro.Phase != v1alpha1.RolloutHalted || ro.Batch != 1 || ro.Pending != 1 {
			t.Errorf("after the attack the rollout is %s at batch %d with %d pending; want still Halted at batch 1, web pending", ro.Phase, ro.Batch, ro.Pending)
		}
		if got := webLastRun(t, base, token); !got.Equal(before) {
			t.Errorf("web was reconciled during the attack (last run %s, was %s)", got, before)
		}
		if conf := f.webConfig(t); conf != "version 1" {
			t.Errorf("web has %q after the attack, want version 1 (kept by the halted rollout)", conf)
		}
		if n := strings.Count(c.Logs(), "refused a cross-site request"); n < 2*(len(crossSiteWrites)*2+12) {
			t.Errorf("the controller logged %d refused cross-site requests", n)
		}

		// A client that is not a browser still may; it also shows that a
		// resume is observable, so the checks above can fail.
		args := []string{"rollout", "resume", "--controller", c.addr}
		if token != "" {
			// From the address the page's dozen refused sign-ins came from:
			// refused cross-site requests do not count as failed sign-ins.
			args = append(args, "--token-file", f.tokens)
		}
		if r := run(t, nil, args...); r.code != 0 {
			t.Fatalf("optimus rollout resume: %s", r)
		}
		eventually(t, 60*time.Second, "web has version 2 after optimus rollout resume", func() bool { return f.webConfig(t) == "version 2" })
	}

	t.Run("loopback without tokens", func(t *testing.T) {
		c := f.halt(t, "")
		check(t, c, "", false)
	})

	t.Run("tokens and a signed-in write session", func(t *testing.T) {
		const writeTok = "write-0123456789abcdef"
		f.tokens = filepath.Join(t.TempDir(), "tokens")
		if err := os.WriteFile(f.tokens, []byte(writeTok+" write\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c := f.halt(t, writeTok, "--auth-token-file", f.tokens)
		base := "http://" + c.addr
		b.open(t, base+"/")
		if err := chromedp.Do(b.ctx, chromedp.SendKeys("#token", writeTok+"\n")); err != nil {
			t.Fatal(err)
		}
		b.waitFor(t, 20*time.Second, "signed in with the write token", `document.querySelector('#token') === null && document.body.innerText.includes('web')`)
		check(t, c, writeTok, true)
	})
}
