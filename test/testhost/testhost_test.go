package testhost_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/test/testhost"
	"github.com/optimus-cm/optimus/transport"
)

func TestStart(t *testing.T) {
	hosts := testhost.Start(t, 2)
	if len(hosts) != 2 || hosts[0].Port == hosts[1].Port {
		t.Fatalf("want 2 hosts on distinct ports, got %+v", hosts)
	}
	for _, h := range hosts {
		if got := strings.TrimSpace(h.Exec(t, "hostname")); got != h.Name {
			t.Errorf("hostname = %q, want %q", got, h.Name)
		}
		for _, u := range []string{"root", testhost.Deploy, testhost.Operator} {
			h.Exec(t, "test -s ~"+u+"/.ssh/authorized_keys")
		}
	}
	// Each container made its own host keys.
	k1 := hosts[0].Exec(t, "cat /etc/ssh/ssh_host_ed25519_key.pub")
	k2 := hosts[1].Exec(t, "cat /etc/ssh/ssh_host_ed25519_key.pub")
	if strings.Fields(k1)[1] == strings.Fields(k2)[1] {
		t.Error("two containers share a host key")
	}
}

func TestRestartAndPause(t *testing.T) {
	h := testhost.Start(t, 1)[0]
	ctx := context.Background()
	dial := func() error {
		c, err := transport.Dial(ctx, h.Resource())
		if err == nil {
			c.Close()
		}
		return err
	}
	h.Stop(t)
	if err := dial(); err == nil {
		t.Fatal("a stopped host answered")
	}
	h.Start(t) // Docker may pick another port: known_hosts follows
	if err := dial(); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
	h.Pause(t)
	res := h.Resource()
	res.Spec.ConnectTimeout.Duration = 500 * time.Millisecond
	if _, err := transport.Dial(ctx, res); err == nil {
		t.Fatal("a paused host answered")
	}
	h.Unpause(t)
	if err := dial(); err != nil {
		t.Fatalf("after unpause: %v", err)
	}
}
