package fleetsim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/transport"
)

func TestHostName(t *testing.T) {
	for _, c := range []struct {
		i, n int
		want string
	}{{0, 1, "h0000"}, {42, 1000, "h0042"}, {9999, 10000, "h9999"}, {42, 10001, "h00042"}} {
		if got := HostName(c.i, c.n); got != c.want {
			t.Errorf("HostName(%d, %d) = %q, want %q", c.i, c.n, got, c.want)
		}
	}
}

func TestContainerPath(t *testing.T) {
	for p, want := range map[string]string{
		"/tmp/fleet/h0001": "/fleet/hosts/h0001/tmp/fleet/h0001",
		"/etc/passwd":      "/fleet/hosts/h0001/upper/etc/passwd",
		"/var/lib/optimus": "/fleet/hosts/h0001/upper/var/lib/optimus",
		"/mnt/x":           "/mnt/x",
		"/tmpfoo":          "/tmpfoo",
	} {
		if got := ContainerPath("h0001", p); got != want {
			t.Errorf("ContainerPath(h0001, %s) = %s, want %s", p, got, want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for s, want := range map[string]int64{"512B": 512, "1.5KiB": 1536, "2MiB": 2 << 20, "1GiB": 1 << 30, "3kB": 3000} {
		if got, err := parseSize(s); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	if _, err := parseSize("12 apples"); err == nil {
		t.Error("parseSize accepted a size without a unit docker uses")
	}
}

func TestOptionsRejected(t *testing.T) {
	for name, o := range map[string]Options{
		"no hosts":            {Prefix: "p", Dir: t.TempDir()},
		"too many containers": {Hosts: 2, Containers: 3, Prefix: "p", Dir: t.TempDir()},
		"too many per one":    {Hosts: MaxHostsPerContainer + 1, Prefix: "p", Dir: t.TempDir()},
		"ports past 65535":    {Hosts: 10, BasePort: 65530, Prefix: "p", Dir: t.TempDir()},
		"no prefix":           {Hosts: 1, Dir: t.TempDir()},
		"no dir":              {Hosts: 1, Prefix: "p"},
	} {
		if err := o.check(); err == nil {
			t.Errorf("%s: accepted %+v", name, o)
		}
	}
}

// TestHostsAreIsolated checks, on a real simulated fleet, what a host
// shares with its neighbours in the same container: users, files in /etc
// and /tmp and the host name are its own and survive its session; a second
// session while one lives sees the first's changes; a login other than
// root is refused.
func TestHostsAreIsolated(t *testing.T) {
	f := StartTest(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := func(c transport.Conn, script string) string {
		t.Helper()
		r, err := transport.Run(ctx, c, script)
		if err != nil {
			t.Fatal(err)
		}
		return string(r.Stdout)
	}
	dial := func(i int) transport.Conn {
		t.Helper()
		c, err := transport.Dial(ctx, f.Resource(i))
		if err != nil {
			t.Fatalf("%s: %v", f.Hosts[i].Name, err)
		}
		return c
	}
	c0 := dial(0)
	run(c0, "useradd zed && echo mine >/etc/motd.d && echo here >/tmp/x")
	second := dial(0)
	if got := run(second, "id -u zed >/dev/null && cat /etc/motd.d /tmp/x && hostname"); got != "mine\nhere\n"+f.Hosts[0].Name+"\n" {
		t.Errorf("a second session of %s while the first lives sees %q", f.Hosts[0].Name, got)
	}
	second.Close()
	c0.Close()

	c1 := dial(1)
	defer c1.Close()
	if got := run(c1, "getent passwd zed; cat /etc/motd.d /tmp/x 2>/dev/null; hostname"); got != f.Hosts[1].Name+"\n" {
		t.Errorf("%s sees what %s wrote: %q", f.Hosts[1].Name, f.Hosts[0].Name, got)
	}
	c0 = dial(0)
	defer c0.Close()
	if got := run(c0, "getent passwd zed | cut -d: -f1; cat /tmp/x"); got != "zed\nhere\n" {
		t.Errorf("%s lost its own changes between sessions: %q", f.Hosts[0].Name, got)
	}

	h := f.Resource(2)
	h.Spec.User = "deploy"
	if c, err := transport.Dial(ctx, h); err == nil {
		c.Close()
		t.Error("a login as deploy was accepted")
	} else if !strings.Contains(err.Error(), "authentication failed") {
		t.Errorf("a login as deploy: want an authentication failure, got %v", err)
	}
}
