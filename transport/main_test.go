package transport

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/test/testhost"
)

// hosts are started once for the package: shared() for tests that leave the
// host as they found it, scratch() for tests that break it on purpose.
var hosts = &testhost.Pool{N: 2}

func TestMain(m *testing.M) {
	code := m.Run()
	hosts.Close()
	os.Exit(code)
}

func shared(t testing.TB) *testhost.Host  { return hosts.Hosts(t)[0] }
func scratch(t testing.TB) *testhost.Host { return hosts.Hosts(t)[1] }

func dial(t testing.TB, h *v1alpha1.Host) Conn {
	t.Helper()
	c, err := Dial(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// dialErr dials h, which must fail with a ConnectError of reason r whose
// message names the host and contains each of want.
func dialErr(t *testing.T, h *v1alpha1.Host, r Reason, want ...string) *ConnectError {
	t.Helper()
	c, err := Dial(context.Background(), h)
	if err == nil {
		c.Close()
		t.Fatalf("dial %s: want a %s error, got none", h.Metadata.Name, r)
	}
	var ce *ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("want a *ConnectError, got %T: %v", err, err)
	}
	msg := err.Error()
	if ce.Reason != r {
		t.Errorf("reason = %s, want %s (%s)", ce.Reason, r, msg)
	}
	if prefix := "host " + h.Metadata.Name + " ("; !strings.HasPrefix(msg, prefix) {
		t.Errorf("error does not start with %q: %s", prefix, msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error lacks %q: %s", w, msg)
		}
	}
	return ce
}

func run(t testing.TB, c Conn, script string) Result {
	t.Helper()
	r, err := Run(context.Background(), c, script)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func localHost() *v1alpha1.Host {
	return &v1alpha1.Host{Metadata: v1alpha1.ObjectMeta{Name: "here"}, Spec: &v1alpha1.HostSpec{Transport: "local"}}
}

func dockerHost(container string) *v1alpha1.Host {
	return &v1alpha1.Host{Metadata: v1alpha1.ObjectMeta{Name: "box"},
		Spec: &v1alpha1.HostSpec{Transport: "docker", Container: container, ConnectTimeout: &v1alpha1.Duration{Duration: 10 * time.Second}}}
}
