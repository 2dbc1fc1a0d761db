package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/optimus-cm/optimus"
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/builtin"
	"github.com/optimus-cm/optimus/test/testhost"
	"github.com/optimus-cm/optimus/transport"
)

// execSettings are the settings of the test's own connector.
type execSettings struct {
	// Container to docker exec into.
	Container string `json:"container" validate:"required"`
}

// TestCustomTransport registers a connector of the test's own and manages
// a host through it; its settings are checked when the manifests load.
func TestCustomTransport(t *testing.T) {
	h := testhost.Start(t, 1)[0]
	var dials atomic.Int64
	conn := transport.NewConnector("dockerexec", func(ctx context.Context, host *v1alpha1.Host, s *execSettings) (transport.Conn, error) {
		dials.Add(1)
		return transport.DialCommand(ctx, host, "container "+s.Container, "docker", "exec", "-i", s.Container)
	})
	cfg, err := optimus.Config(optimus.WithKinds(builtin.Kinds()...), optimus.WithTransports(conn))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	host := func(transport, settings string) string {
		return fmt.Sprintf(`apiVersion: optimus.dev/v1alpha1
kind: Host
metadata: {name: box}
spec:
  transport: %s
  settings: %s
---
apiVersion: optimus.dev/v1alpha1
kind: Group
metadata: {name: viaconnector}
spec: {}
`, transport, settings)
	}
	writeFile(t, filepath.Join(dir, "hosts.yaml"), host("dockerexec", "{container: "+h.Container+"}"))
	if r := run(t, &cfg, "apply", "-f", dir, "--yes"); r.code != 0 {
		t.Fatalf("apply through the custom connector:\n%s", r)
	}
	if out := h.Exec(t, "getent group viaconnector || true"); !strings.HasPrefix(out, "viaconnector:") {
		t.Errorf("the group was not created through the connector: %q", out)
	}
	if dials.Load() == 0 {
		t.Error("the custom connector was never dialled")
	}
	// facts and run reach the host through the tool's connector too.
	before := dials.Load()
	if r := run(t, &cfg, "facts", "-f", dir, "-o", "json"); r.code != 0 || !strings.Contains(r.stdout, `"hostname"`) {
		t.Errorf("facts through the custom connector:\n%s", r)
	}
	if r := run(t, &cfg, "run", "-f", dir, "--", "getent group viaconnector"); r.code != 0 || !strings.Contains(r.stdout, "[box] viaconnector:") {
		t.Errorf("run through the custom connector:\n%s", r)
	}
	if got := dials.Load() - before; got != 2 {
		t.Errorf("facts and run dialled the custom connector %d times, want 2 (one each)", got)
	}

	bad := []struct{ transport, settings, want string }{
		{"dockerexe", "{container: x}", `hosts.yaml:5: Host/box: spec.transport: unknown transport "dockerexe": use one of docker, dockerexec, local, ssh`},
		{"dockerexec", "{}", `hosts.yaml:6: Host/box: spec.settings.container: is required`},
		{"dockerexec", "{container: x, image: debian}", `hosts.yaml:6: Host/box: spec.settings: unknown field "image"`},
		{"ssh", "{container: x}", `hosts.yaml:6: Host/box: spec.settings: transport ssh takes no settings`},
	}
	for _, b := range bad {
		writeFile(t, filepath.Join(dir, "hosts.yaml"), host(b.transport, b.settings))
		r := run(t, &cfg, "validate", "-f", dir)
		if r.code != 1 || !strings.Contains(r.stderr, b.want) {
			t.Errorf("transport %s, settings %s: want exit 1 and %q:\n%s", b.transport, b.settings, b.want, r)
		}
	}
	// A tool without the connector does not know the name either.
	if r := run(t, nil, "validate", "-f", dir); r.code != 1 {
		t.Errorf("a tool without custom connectors accepted settings for ssh:\n%s", r)
	}
}
