package e2e

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/ssh"
)

// chromium finds Debian's chromium. Under CI=true a missing browser is a
// failure: hack/test.sh installs it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("the status page tests need chromium (CI=true, so this is not skipped): apt-get install chromium, as hack/test.sh does")
	}
	t.Skip("the status page tests need chromium: apt-get install chromium")
	return ""
}

// browser is a headless chromium tab that records every JavaScript dialog
// (alert, confirm, prompt) a page opens: a page that escapes its data opens
// none.
type browser struct {
	name    string // of the test, for screenshot files
	ctx     context.Context
	shots   string
	mu      sync.Mutex
	dialogs []string
}

// pageHook runs before any script of every page: it counts calls to alert
// and friends, so an injected script is caught even if dialogs are blocked.
const pageHook = `window.__optimusDialogs = 0;
for (const f of ['alert', 'confirm', 'prompt']) {
  const orig = window[f];
  window[f] = function () { window.__optimusDialogs++; return orig.apply(window, arguments); };
}`

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-dev-shm-usage", true))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // chromium refuses to sandbox itself as root
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	b := &browser{name: t.Name(), ctx: ctx, shots: filepath.Join(t.TempDir(), "screenshots")}
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	handle := make(chan struct{}, 16)
	if err := chromedp.Listen(ctx, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			b.mu.Lock()
			b.dialogs = append(b.dialogs, string(d.Type)+": "+d.Message)
			b.mu.Unlock()
			select {
			case handle <- struct{}{}:
			default:
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	go func() { // dismiss dialogs off the event loop, so the page is not stuck
		for {
			select {
			case <-ctx.Done():
				return
			case <-handle:
				_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
			}
		}
	}()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: pageHook}); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *browser) open(t *testing.T, url string) time.Duration {
	t.Helper()
	start := time.Now()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return time.Since(start)
}

func eval[T any](t *testing.T, b *browser, js string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitFor polls a JavaScript condition in the page, without reloading it.
func (b *browser) waitFor(t *testing.T, within time.Duration, what, js string) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.screenshot(t, "timeout")
	t.Fatalf("not within %s in the browser: %s", within, what)
	return 0
}

// screenshot saves the page as PNG under the test's temp dir, and under
// $OPTIMUS_ARTIFACTS when set, so a person can look at it.
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	file := b.name + "-" + name + ".png"
	dirs := []string{b.shots}
	if a := os.Getenv("OPTIMUS_ARTIFACTS"); a != "" {
		dirs = append(dirs, a)
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, file)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
}

// noScriptRan checks that no dialog opened and that the page holds no
// script element but the page's own.
func (b *browser) noScriptRan(t *testing.T, where string) {
	t.Helper()
	b.mu.Lock()
	dialogs := append([]string(nil), b.dialogs...)
	b.mu.Unlock()
	if len(dialogs) > 0 {
		t.Errorf("%s: a script ran and opened dialogs: %v", where, dialogs)
	}
	if n := eval[int](t, b, `window.__optimusDialogs`); n != 0 {
		t.Errorf("%s: alert was called %d times", where, n)
	}
	srcs := eval[[]string](t, b, `Array.from(document.scripts, s => s.getAttribute('src') || 'inline: ' + s.textContent)`)
	if len(srcs) != 1 || srcs[0] != "/assets/app.js" {
		t.Errorf("%s: scripts in the page: %q", where, srcs)
	}
}

func rowState(host string) string {
	return fmt.Sprintf(`(document.querySelector('tr[data-host="%s"] .badge') || {}).textContent`, host)
}

func rowReason(host string) string {
	return fmt.Sprintf(`((document.querySelector('tr[data-host="%s"] td.reason') || {}).textContent || '')`, host)
}

// TestStatusPage drives the status page in chromium against a controller
// reconciling three test hosts: states update live, hostile text from
// manifests and hosts shows as text, and secrets never reach a page.
func TestStatusPage(t *testing.T) {
	b := newBrowser(t)
	hosts := startFixed(t, 3)
	dir := t.TempDir()
	hostsManifest(t, dir, hosts) // hosts[2] is role=web
	const hash = "$6$saltsalt$Yv1lMZSNmPvcUrz7yXqCKOIkQjvl9h3bx4Nq8L8u0/tKq2wOGg1oz9uHTcHBPwUzW6ZLGuXYdJMpLJmTjzIJb."
	t.Setenv("STATUSPAGE_CAROL_HASH", hash) // inherited by the controller
	writeFile(t, filepath.Join(dir, "users.yaml"), `apiVersion: optimus.dev/v1alpha1
kind: User
metadata:
  name: carol
  labels: {note: "<script>alert(1)</script>", team: ops}
spec:
  shell: /bin/bash
  passwordHashFrom: {env: STATUSPAGE_CAROL_HASH}
`)
	c := startController(t, dir)
	base := "http://" + c.addr

	eventually(t, 60*time.Second, "/readyz answers 200", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	b.open(t, base+"/")
	b.waitFor(t, 15*time.Second, "every host Ready", fmt.Sprintf(
		`[%q, %q, %q].every(h => (document.querySelector('tr[data-host="' + h + '"] .badge') || {}).textContent === 'Ready')`,
		hosts[0].Name, hosts[1].Name, hosts[2].Name))
	b.waitFor(t, 5*time.Second, "the live stream connected", `document.getElementById('conn').textContent.startsWith('Live updates: on')`)
	b.screenshot(t, "fleet-ready")
	if got := eval[string](t, b, `document.querySelector('.config').textContent`); !strings.Contains(got, "ConfigValid") {
		t.Errorf("fleet page lacks ConfigValid: %q", got)
	}

	t.Run("keyboard: the first Tab reaches the skip link", func(t *testing.T) {
		if err := chromedp.Do(b.ctx, chromedp.KeyEvent("\t")); err != nil {
			t.Fatal(err)
		}
		if got := eval[string](t, b, `document.activeElement.className`); got != "skip" {
			t.Errorf("focus after Tab: %q", got)
		}
	})

	t.Run("a stopped host shows Quarantined with its reason, live, and then Ready again", func(t *testing.T) {
		_ = eval[bool](t, b, `window.__notReloaded = true`)
		hosts[0].Stop(t)
		took := b.waitFor(t, 20*time.Second, hosts[0].Name+" Quarantined with a reason",
			rowState(hosts[0].Name)+` === 'Quarantined' && `+rowReason(hosts[0].Name)+`.length > 0`)
		t.Logf("%s shown Quarantined %s after docker stop: %q", hosts[0].Name, took.Round(time.Millisecond), eval[string](t, b, rowReason(hosts[0].Name)))
		if !eval[bool](t, b, `window.__notReloaded === true`) {
			t.Error("the page reloaded; the update must come live")
		}
		if first := eval[string](t, b, `document.querySelector('tbody tr').dataset.host`); first != hosts[0].Name {
			t.Errorf("the quarantined host is not listed first: %s", first)
		}
		b.screenshot(t, "fleet-quarantined")
		b.open(t, base+"/hosts/"+hosts[0].Name)
		b.waitFor(t, 5*time.Second, "host page shows next retry", `document.body.innerText.includes('next retry at')`)
		b.screenshot(t, "host-quarantined")

		b.open(t, base+"/")
		_ = eval[bool](t, b, `window.__notReloaded = true`)
		hosts[0].Start(t)
		took = b.waitFor(t, 30*time.Second, hosts[0].Name+" Ready again", rowState(hosts[0].Name)+` === 'Ready'`)
		t.Logf("%s shown Ready %s after docker start", hosts[0].Name, took.Round(time.Millisecond))
		if !eval[bool](t, b, `window.__notReloaded === true`) {
			t.Error("the page reloaded; the update must come live")
		}
	})

	t.Run("host, resource and search pages", func(t *testing.T) {
		b.open(t, base+"/hosts/"+hosts[1].Name)
		body := eval[string](t, b, `document.body.innerText`)
		for _, want := range []string{"Ready", "User/carol", "converged", "create user carol", "password: (redacted) -> (redacted)"} {
			if !strings.Contains(body, want) {
				t.Errorf("host page lacks %q:\n%s", want, body)
			}
		}
		b.screenshot(t, "host")
		b.open(t, base+"/resources/User/carol")
		if n := eval[int](t, b, `document.querySelectorAll('tbody tr').length`); n != 3 {
			t.Errorf("resource page lists %d hosts, want 3", n)
		}
		b.screenshot(t, "resource")
		if err := chromedp.Do(b.ctx, chromedp.SendKeys("#search-q", "team=ops\n")); err != nil {
			t.Fatal(err)
		}
		b.waitFor(t, 5*time.Second, "search results", `location.pathname === '/search' && document.body.innerText.includes('User/carol')`)
		b.screenshot(t, "search")
		b.open(t, base+"/search?q=role%3Dweb")
		if got := eval[string](t, b, `document.querySelector('tbody th').textContent`); got != hosts[2].Name {
			t.Errorf("search role=web found %q", got)
		}
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(390, 844)); err != nil {
			t.Fatal(err)
		}
		b.open(t, base+"/")
		if w := eval[int](t, b, `document.documentElement.scrollWidth`); w > 400 {
			t.Errorf("at phone width the page is %dpx wide: it scrolls sideways", w)
		}
		b.screenshot(t, "fleet-phone")
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("an invalid manifest shows ConfigValid false with its file:line, live", func(t *testing.T) {
		b.open(t, base+"/")
		broken := filepath.Join(dir, "broken.yaml")
		writeFile(t, broken, "apiVersion: optimus.dev/v1alpha1\nkind: User\nmetadata: {name: eve}\nspec: {shel: /bin/sh}\n")
		b.waitFor(t, 10*time.Second, "the manifest error with its file:line",
			`(document.querySelector('.config.bad .loc') || {}).textContent === `+fmt.Sprintf("%q", broken+":4"))
		b.screenshot(t, "fleet-config-invalid")
		if err := os.Remove(broken); err != nil {
			t.Fatal(err)
		}
		b.waitFor(t, 10*time.Second, "ConfigValid again", `document.querySelector('.config.ok') !== null`)
	})

	t.Run("manifest text and host output render as text; no script runs", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, "hostile.yaml"), `apiVersion: optimus.dev/v1alpha1
kind: Exec
metadata:
  name: hostile
  labels: {note: "<img src=x onerror=alert(2)>"}
spec:
  hostSelector: {matchLabels: {role: web}}
  command: "printf '%s\n' '<script>alert(3)</script>' '<img src=x onerror=alert(4)>'; exit 3"
  unless: "test -e /nonexistent"
`)
		b.open(t, base+"/hosts/"+hosts[2].Name)
		b.waitFor(t, 20*time.Second, "the command's HTML output shown as text",
			`document.body.innerText.includes("<script>alert(3)</script>") && document.body.innerText.includes("<img src=x onerror=alert(4)>")`)
		b.noScriptRan(t, "host page")
		b.screenshot(t, "host-hostile-output")
		for _, path := range []string{"/", "/resources/User/carol", "/resources/Exec/hostile", "/search?q=note"} {
			b.open(t, base+path)
			b.noScriptRan(t, path)
		}
		body := eval[string](t, b, `document.body.innerText`)
		if !strings.Contains(body, "note=<script>alert(1)</script>") || !strings.Contains(body, "note=<img src=x onerror=alert(2)>") {
			t.Errorf("search page does not show the labels as text:\n%s", body)
		}
		b.screenshot(t, "search-hostile-labels")
	})

	t.Run("no page holds the secret", func(t *testing.T) {
		for _, path := range []string{"/", "/hosts/" + hosts[0].Name, "/hosts/" + hosts[1].Name, "/hosts/" + hosts[2].Name,
			"/resources/User/carol", "/search?q=carol"} {
			resp, err := http.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(body), "Yv1lMZSNmPvcUrz7") {
				t.Errorf("%s shows the password hash", path)
			}
		}
	})
}

// privateKey writes a fresh ed25519 key, so that hosts on closed ports fail
// at the connection, as an unreachable host does.
func privateKey(t *testing.T) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(p, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStatusPageThousandHosts loads the fleet page of 1,000 hosts, none of
// them reachable, while their failures stream in.
func TestStatusPageThousandHosts(t *testing.T) {
	b := newBrowser(t)
	dir := t.TempDir()
	key := privateKey(t)
	port := freePort(t) // closed again: nothing listens there
	var m strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&m, "---\napiVersion: optimus.dev/v1alpha1\nkind: Host\nmetadata: {name: node%04d, labels: {rack: r%02d}}\n"+
			"spec: {address: 127.0.0.1, port: %d, privateKeyFile: %s, hostKey: {policy: insecure}, connectTimeout: 1s}\n", i, i%40, port, key)
	}
	writeFile(t, filepath.Join(dir, "hosts.yaml"), m.String())
	writeFile(t, filepath.Join(dir, "alice.yaml"), "apiVersion: optimus.dev/v1alpha1\nkind: User\nmetadata: {name: alice}\nspec: {}\n")
	c := startController(t, dir, "--backoff-initial", "20s", "--backoff-max", "60s", "--resync", "10m")
	base := "http://" + c.addr
	eventually(t, 60*time.Second, "1,000 hosts in the status", func() bool {
		st := c.status(t)
		return st != nil && len(st.Hosts) == 1000
	})

	start := time.Now()
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	t.Logf("server: GET / for 1,000 hosts answered in %s", time.Since(start).Round(time.Millisecond))

	wall := b.open(t, base+"/")
	nav := eval[map[string]float64](t, b, `(() => { const n = performance.getEntriesByType('navigation')[0];
		return {response: n.responseEnd - n.startTime, dom: n.domContentLoadedEventEnd - n.startTime, load: n.loadEventEnd - n.startTime}; })()`)
	t.Logf("browser: fleet page of 1,000 hosts: response %.0f ms, DOMContentLoaded %.0f ms, load %.0f ms (navigation measured from Go: %s)",
		nav["response"], nav["dom"], nav["load"], wall.Round(time.Millisecond))
	if nav["load"] > 5000 { // a sanity bound only; the figure is printed above
		t.Errorf("the fleet page took %.0f ms to load", nav["load"])
	}
	total := eval[string](t, b, `document.querySelector('caption').textContent`)
	if rows := eval[int](t, b, `document.querySelectorAll('tbody tr').length`); rows != 100 || !strings.Contains(total, "of 1000") {
		t.Errorf("first page: %d rows, caption %q", rows, total)
	}
	b.waitFor(t, 60*time.Second, "failures streamed in live", `document.querySelector('tr[data-host] .badge').textContent === 'Quarantined'`)
	b.screenshot(t, "fleet-1000")

	// Still responsive while updates stream: a page change answers quickly.
	start = time.Now()
	b.open(t, base+"/?state=Quarantined")
	if next := eval[string](t, b, `(document.querySelector('a[rel=next]') || {}).href || ''`); next != "" {
		b.open(t, next) // the second page, through the continue token
	}
	t.Logf("browser: the quarantined hosts, two pages, while updates stream: %s", time.Since(start).Round(time.Millisecond))
	b.open(t, base+"/?q=rack%3Dr07")
	if rows := eval[int](t, b, `document.querySelectorAll('tbody tr').length`); rows != 25 {
		t.Errorf("filter rack=r07: %d rows, want 25", rows)
	}
}

// TestStatusPageAuth: off loopback the controller needs tokens; with them,
// a request without one is refused and the page asks for it once.
func TestStatusPageAuth(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "hosts.yaml"), fmt.Sprintf("apiVersion: optimus.dev/v1alpha1\nkind: Host\nmetadata: {name: lonely}\n"+
		"spec: {address: 127.0.0.1, port: %d, privateKeyFile: %s, hostKey: {policy: insecure}, connectTimeout: 1s}\n",
		freePort(t), privateKey(t)))

	t.Run("0.0.0.0 without a token file is refused at start", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, filepath.Join(bin, "optimus-controller"), "--watch", dir,
			"--listen", fmt.Sprintf("0.0.0.0:%d", freePort(t)), "--state-dir", t.TempDir()).CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "--auth-token-file") {
			t.Fatalf("want exit 1 naming --auth-token-file; got %v:\n%s", err, out)
		}
		t.Logf("refused: %s", strings.TrimSpace(string(out)))
	})

	tokens := filepath.Join(t.TempDir(), "tokens")
	const readTok, writeTok = "read-0123456789abcdef", "write-0123456789abcdef"
	if err := os.WriteFile(tokens, []byte("# who may look\n"+readTok+"\n"+writeTok+" write\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startController(t, dir, "--auth-token-file", tokens)
	base := "http://" + c.addr
	eventually(t, 30*time.Second, "the controller answers", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	for _, path := range []string{"/", "/events", "/api/v1/status", "/metrics", "/hosts/lonely"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("GET %s without a token: %d, want 401", path, resp.StatusCode)
		}
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+readTok)
		if path == "/events" {
			continue // a stream: its 200 is checked in the browser
		}
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s with a read token: %d, want 200", path, resp.StatusCode)
		}
	}

	t.Run("optimus get sends the token", func(t *testing.T) {
		out, err := exec.Command(filepath.Join(bin, "optimus"), "get", "hosts", "--controller", c.addr).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "--token-file") {
			t.Errorf("get without a token: %v\n%s", err, out)
		}
		out, err = exec.Command(filepath.Join(bin, "optimus"), "get", "hosts", "--controller", c.addr, "--token-file", tokens).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "lonely") {
			t.Errorf("get with a token: %v\n%s", err, out)
		}
	})

	b := newBrowser(t)
	b.open(t, base+"/hosts/lonely")
	b.screenshot(t, "sign-in")
	if err := chromedp.Do(b.ctx, chromedp.SendKeys("#token", writeTok+"\n")); err != nil {
		t.Fatal(err)
	}
	b.waitFor(t, 10*time.Second, "the host page after sign-in, live", `location.pathname === '/hosts/lonely' && document.getElementById('conn') !== null &&
		document.getElementById('conn').textContent.startsWith('Live updates: on')`)
	if err := chromedp.Do(b.ctx, chromedp.Click("form.act button")); err != nil {
		t.Fatalf("reconcile now: %v", err)
	}
	b.waitFor(t, 10*time.Second, "reconcile queued", `document.body.innerText.includes('Queued for reconcile.')`)
	b.screenshot(t, "host-write-token")
	if cookie := eval[string](t, b, `document.cookie`); cookie != "" {
		t.Errorf("the session cookie is readable by scripts: %q", cookie)
	}
}
