package daemon

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/testcert"
	"github.com/optimus-cm/optimus/internal/web"
	"github.com/optimus-cm/optimus/reconcilers"
)

func testOptions(t *testing.T) Options {
	t.Helper()
	scheme, err := v1alpha1.NewScheme(v1alpha1.HostKind, v1alpha1.RolloutPolicyKind)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := reconcilers.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	return Options{Dir: t.TempDir(), Scheme: scheme, Registry: reg}
}

func tokenFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestListenOffLoopbackNeedsTLSOrInsecureHTTP: a listener other machines
// can reach is refused at start without TLS, naming both ways out.
func TestListenOffLoopbackNeedsTLSOrInsecureHTTP(t *testing.T) {
	tokens := tokenFile(t, strings.Repeat("r", web.MinTokenLength)+"\n")
	ca := testcert.NewCA(t)
	pair := ca.Server(t, "controller")
	for _, tc := range []struct {
		name  string
		edit  func(*Options)
		wants []string // empty: accepted
	}{
		{"all interfaces, plain HTTP", func(o *Options) { o.Listen = "0.0.0.0:9443" }, []string{"--listen 0.0.0.0:9443", "--tls-cert-file", "--tls-key-file", "--insecure-http"}},
		{"an address of the machine, plain HTTP", func(o *Options) { o.Listen = "192.0.2.10:9443" }, []string{"--tls-cert-file", "--insecure-http"}},
		{"all interfaces, --insecure-http", func(o *Options) { o.Listen, o.InsecureHTTP = ":9443", true }, nil},
		{"all interfaces, TLS", func(o *Options) { o.Listen, o.TLSCertFile, o.TLSKeyFile = ":9443", pair.CertFile, pair.KeyFile }, nil},
		{"loopback, plain HTTP", func(o *Options) { o.Listen = "127.0.0.1:9443" }, nil},
		{"a certificate without its key", func(o *Options) { o.Listen, o.TLSCertFile = ":9443", pair.CertFile }, []string{"--tls-cert-file and --tls-key-file go together"}},
		{"a key that is not the certificate's", func(o *Options) { o.Listen, o.TLSCertFile, o.TLSKeyFile = ":9443", pair.CertFile, ca.CertFile },
			[]string{"--tls-cert-file " + pair.CertFile, "--tls-key-file " + ca.CertFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(t)
			o.AuthTokenFile = tokens
			tc.edit(&o)
			_, err := New(o)
			if len(tc.wants) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestServesHTTPS: with a certificate the daemon serves its API over TLS
// only, and its session cookie is Secure.
func TestServesHTTPS(t *testing.T) {
	ca := testcert.NewCA(t)
	pair := ca.Server(t, "controller")
	o := testOptions(t)
	o.Listen, o.TLSCertFile, o.TLSKeyFile = "127.0.0.1:0", pair.CertFile, pair.KeyFile
	o.AuthTokenFile = tokenFile(t, "writetoken-0123456789 write\n")
	d, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	base := "https://" + d.Addr()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/status", nil)
	req.Header.Set("Authorization", "Bearer writetoken-0123456789")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET over HTTPS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Errorf("GET /api/v1/status over HTTPS: %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}

	req, _ = http.NewRequest(http.MethodPost, base+"/login", strings.NewReader("token=writetoken-0123456789"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if c := resp.Cookies(); resp.StatusCode != http.StatusSeeOther || len(c) != 1 || !c[0].Secure || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode {
		t.Errorf("sign-in over HTTPS: %d, cookies %v; want one Secure, HttpOnly, SameSite=Strict cookie", resp.StatusCode, c)
	}

	// Plain HTTP on the same port gets nothing but Go's refusal.
	resp, err = http.Get("http://" + d.Addr() + "/api/v1/status")
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(body), "hosts") {
			t.Errorf("plain HTTP to the HTTPS port: %d %q", resp.StatusCode, body)
		}
	}
}

// TestRolloutEndpointsRefuseCrossSite: without tokens (loopback), a page of
// another site cannot resume or abort a rollout; optimus rollout, which
// sends neither Origin nor a cookie, can.
func TestRolloutEndpointsRefuseCrossSite(t *testing.T) {
	d, err := New(testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	h := d.handler()
	for _, path := range []string{"/api/v1/rollout/resume", "/api/v1/rollout/abort"} {
		for _, hdr := range []map[string]string{
			{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"},
			{"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:8000"},
			{"Origin": "http://localhost:8000"},
		} {
			req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9443"+path, nil)
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "cross-site request refused") {
				t.Errorf("POST %s with %v: %d %q, want 403", path, hdr, w.Code, w.Body)
			}
		}
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9443"+path, nil)
		req.Header.Set("User-Agent", "Go-http-client/1.1") // what optimus rollout sends
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusConflict { // allowed; there is no rollout
			t.Errorf("POST %s as optimus rollout: %d %q, want 409 (no rollout)", path, w.Code, w.Body)
		}
	}
}
