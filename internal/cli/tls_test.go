package cli

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/testcert"
)

// tlsServer is an HTTPS server with a certificate of ca; with clients set,
// it also requires a client certificate signed by ca.
func tlsServer(t *testing.T, ca *testcert.CA, clients bool, h http.Handler) *httptest.Server {
	t.Helper()
	pair := ca.Server(t, "server")
	cert, err := tls.LoadX509KeyPair(pair.CertFile, pair.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(h)
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	if clients {
		ts.TLS.ClientCAs, ts.TLS.ClientAuth = ca.Pool(), tls.RequireAndVerifyClientCert
	}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts
}

// TestEtcdTLSFromTheThreeFiles: the CA file verifies the server, the
// client certificate and key are presented to a server that requires them.
func TestEtcdTLSFromTheThreeFiles(t *testing.T) {
	ca := testcert.NewCA(t)
	ts := tlsServer(t, ca, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.TLS.PeerCertificates[0].Subject.CommonName))
	}))
	client := ca.Client(t, "replica-1")
	cfg, err := etcdTLS(ca.CertFile, client.CertFile, client.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", ts.Listener.Addr().String(), cfg)
	if err != nil {
		t.Fatalf("handshake with the three files: %v", err)
	}
	if peer := conn.ConnectionState().PeerCertificates[0].Subject.CommonName; peer != "server" {
		t.Errorf("server certificate %q", peer)
	}
	conn.Close()

	// The CA alone verifies the server, but a server requiring a client
	// certificate refuses the connection.
	caOnly, err := etcdTLS(ca.CertFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if c, err := tls.Dial("tcp", ts.Listener.Addr().String(), caOnly); err == nil {
		// TLS 1.3 reports a missing client certificate on first read.
		if _, err = c.Read(make([]byte, 1)); err == nil {
			t.Error("a server requiring a client certificate accepted none")
		}
		c.Close()
	}
	// Without the CA, the server's certificate is not trusted.
	noCA, err := etcdTLS("", client.CertFile, client.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := tls.Dial("tcp", ts.Listener.Addr().String(), noCA); err == nil {
		c.Close()
		t.Error("a server signed by an unknown CA was trusted")
	}

	if cfg, err := etcdTLS("", "", ""); cfg != nil || err != nil {
		t.Errorf("no files: %v, %v; want no TLS configuration", cfg, err)
	}
	if _, err := etcdTLS(ca.CertFile, client.CertFile, ""); err == nil || !strings.Contains(err.Error(), "--etcd-cert-file and --etcd-key-file go together") {
		t.Errorf("a certificate without its key: %v", err)
	}
	if _, err := etcdTLS("/nonexistent/ca.pem", "", ""); err == nil || !strings.Contains(err.Error(), "--etcd-ca-file /nonexistent/ca.pem") {
		t.Errorf("a missing CA file: %v", err)
	}
}

func TestEtcdTLSFlagsKeepTheirFirstNames(t *testing.T) {
	cmd := NewControllerRoot(manifestTestConfig(t))
	if err := cmd.Flags().Parse([]string{"--etcd-ca", "a", "--etcd-cert-file", "b", "--etcd-key", "c"}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"etcd-ca-file": "a", "etcd-cert-file": "b", "etcd-key-file": "c"} {
		if got, _ := cmd.Flags().GetString(name); got != want {
			t.Errorf("--%s = %q, want %q", name, got, want)
		}
	}
}

// TestPlainEtcdEndpointsOffLoopbackWarn: an endpoint on another machine
// reached without TLS is named in a warning; loopback, https and unix
// endpoints, and scheme-less ones with TLS files, are not.
func TestPlainEtcdEndpointsOffLoopbackWarn(t *testing.T) {
	for _, tc := range []struct {
		endpoints []string
		withTLS   bool
		warned    []string
	}{
		{[]string{"http://10.0.0.5:2379", "https://10.0.0.6:2379", "http://127.0.0.1:2379", "http://localhost:2379", "http://[::1]:2379"}, false, []string{"http://10.0.0.5:2379"}},
		{[]string{"10.0.0.7:2379", "etcd.example"}, false, []string{"10.0.0.7:2379", "etcd.example"}},
		{[]string{"10.0.0.7:2379", "http://etcd.example"}, true, []string{"http://etcd.example"}},
		{[]string{"unix:///run/etcd.sock", "http://localhost"}, false, nil},
	} {
		var buf bytes.Buffer
		warnPlainEndpoints(tc.endpoints, tc.withTLS, slog.New(slog.NewJSONHandler(&buf, nil)))
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if line == "" {
				continue
			}
			var rec struct{ Level, Msg, Endpoint string }
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatal(err)
			}
			if rec.Level != "WARN" || !strings.Contains(rec.Msg, "without TLS") || !strings.Contains(rec.Msg, "--etcd-ca-file") {
				t.Errorf("log record %s", line)
			}
			got = append(got, rec.Endpoint)
		}
		if strings.Join(got, ",") != strings.Join(tc.warned, ",") {
			t.Errorf("%v (TLS files %v): warned about %v, want %v", tc.endpoints, tc.withTLS, got, tc.warned)
		}
	}
}

// TestClientsReachAnHTTPSController: optimus get and rollout talk to an
// HTTPS controller with --controller-ca-file (HOST:PORT then means https),
// and say what to do without it.
func TestClientsReachAnHTTPSController(t *testing.T) {
	ca := testcert.NewCA(t)
	var gotToken string
	ts := tlsServer(t, ca, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotToken = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/summary":
			http.NotFound(w, r) // a controller before paging: get hosts reads the whole status
		case "/api/v1/status":
			_ = json.NewEncoder(w).Encode(v1alpha1.ControllerStatus{Hosts: []v1alpha1.HostStatus{{Name: "web-tls"}}})
		case "/api/v1/rollout/resume":
			_ = json.NewEncoder(w).Encode(v1alpha1.RolloutStatus{Generation: "g2", Phase: v1alpha1.RolloutProgressing})
		}
	}))
	hostport := strings.TrimPrefix(ts.URL, "https://")
	tokens := writeTokenFile(t, "writetoken-0123456789 write\n")

	code, out, errOut := runCLI(t, nil, "get", "hosts", "--controller", hostport, "--controller-ca-file", ca.CertFile, "--token-file", tokens)
	if code != 0 || !strings.Contains(out, "web-tls") || gotToken != "Bearer writetoken-0123456789" {
		t.Errorf("get hosts over HTTPS: exit %d, token sent %q\n%s%s", code, gotToken, out, errOut)
	}
	t.Setenv("OPTIMUS_CONTROLLER_CA_FILE", ca.CertFile)
	code, out, errOut = runCLI(t, nil, "rollout", "resume", "--controller", ts.URL)
	if code != 0 || !strings.Contains(out, "Rollout g2") {
		t.Errorf("rollout resume over HTTPS with $OPTIMUS_CONTROLLER_CA_FILE: exit %d\n%s%s", code, out, errOut)
	}
	t.Setenv("OPTIMUS_CONTROLLER_CA_FILE", "")
	code, _, errOut = runCLI(t, nil, "get", "hosts", "--controller", ts.URL)
	if code != 1 || !strings.Contains(errOut, "--controller-ca-file") {
		t.Errorf("an unknown CA: exit %d, want 1 naming --controller-ca-file\n%s", code, errOut)
	}
	code, _, errOut = runCLI(t, nil, "get", "hosts", "--controller", "http://"+hostport)
	if code != 1 || !strings.Contains(errOut, "serves HTTPS: pass --controller https://"+hostport) {
		t.Errorf("http:// to an HTTPS controller: exit %d, want 1 saying to use https\n%s", code, errOut)
	}
}

func writeTokenFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
