package e2e

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optimus-cm/optimus"
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/builtin"
	"github.com/optimus-cm/optimus/internal/manifest"
	"github.com/optimus-cm/optimus/test/testhost"
	"github.com/optimus-cm/optimus/transport"
)

// bastionHost writes a Host resource for h: direct when jump is empty,
// otherwise through the Host named jump.
func bastionHost(h *testhost.Host, role, jump string) string {
	address, port := "127.0.0.1", h.Port
	if h.Private {
		address, port = h.Container, 22
	}
	s := fmt.Sprintf(`---
apiVersion: optimus.dev/v1alpha1
kind: Host
metadata:
  name: %s
  labels: {role: %s}
spec:
  address: %s
  port: %d
  privateKeyFile: %s
  hostKey: {knownHostsFile: %s}
  connectTimeout: 10s
`, h.Name, role, address, port, h.KeyFile, h.KnownHostsFile)
	if jump != "" {
		s += "  jump: {host: " + jump + "}\n"
	}
	return s
}

// TestBastion manages hosts that have no published port, reachable only
// through a bastion container on a Docker network of the test's own, and
// one behind a second bastion that is itself behind the first.
func TestBastion(t *testing.T) {
	// bastion1 publishes sshd on 127.0.0.1; bastion2 and the targets do not.
	hosts := testhost.StartNetwork(t, 5, 4)
	b1, b2, targets := hosts[0], hosts[1], hosts[2:]
	dir := t.TempDir()
	var hs strings.Builder
	hs.WriteString(bastionHost(b1, "bastion", ""))
	hs.WriteString(bastionHost(b2, "bastion", b1.Name))
	hs.WriteString(bastionHost(targets[0], "web", b1.Name))
	hs.WriteString(bastionHost(targets[1], "web", b1.Name))
	hs.WriteString(bastionHost(targets[2], "web", b2.Name)) // two hops
	writeFile(t, filepath.Join(dir, "hosts.yaml"), hs.String())
	writeFile(t, filepath.Join(dir, "web.yaml"), `apiVersion: optimus.dev/v1alpha1
kind: User
metadata: {name: jumper}
spec:
  hostSelector: {matchLabels: {role: web}}
  shell: /bin/sh
---
apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: motd}
spec:
  hostSelector: {matchLabels: {role: web}}
  path: /etc/motd
  content: "reached through a bastion\n"
`)
	cfg, err := optimus.Config(optimus.WithKinds(builtin.Kinds()...))
	if err != nil {
		t.Fatal(err)
	}

	if r := run(t, &cfg, "diff", "-f", dir); r.code != 1 || !strings.Contains(r.stdout, targets[2].Name) {
		t.Fatalf("diff before apply: want exit 1 naming %s:\n%s", targets[2].Name, r)
	}
	if r := run(t, &cfg, "apply", "-f", dir, "--yes"); r.code != 0 {
		t.Fatalf("apply through the bastions:\n%s", r)
	}
	for _, h := range targets {
		if out := h.Exec(t, "getent passwd jumper; cat /etc/motd"); !strings.Contains(out, "jumper:") || !strings.Contains(out, "reached through a bastion") {
			t.Errorf("%s after apply: %q", h.Name, out)
		}
	}
	if r := run(t, &cfg, "diff", "-f", dir); r.code != 0 {
		t.Fatalf("diff after apply: want exit 0:\n%s", r)
	}
	r := run(t, &cfg, "run", "-f", dir, "-l", "role=web", "--", "hostname")
	if r.code != 0 {
		t.Fatalf("run through the bastions:\n%s", r)
	}
	for _, h := range targets {
		if want := "[" + h.Name + "] " + h.Name + "\n"; !strings.Contains(r.stdout, want) {
			t.Errorf("run output lacks %q:\n%s", want, r)
		}
	}
	// Each command opened one connection to bastion1 and one to bastion2
	// (through bastion1), shared by every host behind them.
	if got := cfg.Transports.BastionDials(); got != 8 {
		t.Errorf("bastion connections over 4 commands = %d, want 8 (2 per command)", got)
	}

	t.Run("one connection to the bastion", func(t *testing.T) {
		set, err := (&manifest.Loader{Scheme: cfg.Scheme}).Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]*v1alpha1.Host{}
		for _, h := range set.Hosts() {
			byName[h.Metadata.Name] = h
		}
		reg, err := transport.NewRegistry()
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		conns := dialAll(t, ctx, reg, []*v1alpha1.Host{byName[targets[0].Name], byName[targets[1].Name], byName[b2.Name]})
		// Established connections to bastion1's sshd, counted on bastion1.
		if n := established(t, b1); n != 1 {
			t.Errorf("bastion1 holds %d SSH connections for 3 hosts behind it, want 1", n)
		}
		if got := reg.BastionDials(); got != 1 {
			t.Errorf("the connector opened %d connections to bastions for 3 hosts behind one, want 1", got)
		}
		// The bastion drops the connection: the hosts behind it reconnect at
		// their next batch, again over one new connection.
		b1.Exec(t, "pkill -f '^sshd: root' || true")
		waitFor(t, func() bool { return established(t, b1) == 0 }, "bastion1 to drop its connection")
		waitFor(t, func() bool {
			for _, c := range conns {
				if _, err := transport.Run(ctx, c, "true"); err == nil {
					return true
				}
			}
			return false
		}, "a host behind the bastion to be reachable again")
		for i, c := range conns {
			if res, err := transport.Run(ctx, c, "hostname"); err != nil || !res.OK() {
				t.Errorf("conn %d after the bastion dropped it: %v %+v", i, err, res)
			}
		}
		if n := established(t, b1); n != 1 {
			t.Errorf("after reconnecting, bastion1 holds %d SSH connections, want 1", n)
		}
		closeAll(conns)
		waitFor(t, func() bool { return established(t, b1) == 0 }, "the bastion connection to close with its last host")

		// Figures: dialling 3 hosts at once, each round on a fresh registry
		// so that the bastion's own handshake is counted.
		const rounds = 5
		var direct, via, warm []time.Duration
		for range rounds {
			reg, _ := transport.NewRegistry()
			start := time.Now()
			closeAll(dialAll(t, ctx, reg, []*v1alpha1.Host{byName[b1.Name], byName[b1.Name], byName[b1.Name]}))
			direct = append(direct, time.Since(start))
			start = time.Now()
			closeAll(dialAll(t, ctx, reg, []*v1alpha1.Host{byName[targets[0].Name], byName[targets[1].Name], byName[b2.Name]}))
			via = append(via, time.Since(start))
			// Warm: another host already holds the bastion connection.
			holder := dialAll(t, ctx, reg, []*v1alpha1.Host{byName[targets[2].Name]})
			start = time.Now()
			closeAll(dialAll(t, ctx, reg, []*v1alpha1.Host{byName[targets[0].Name], byName[targets[1].Name], byName[b2.Name]}))
			warm = append(warm, time.Since(start))
			closeAll(holder)
		}
		t.Logf("figure: dial 3 hosts in parallel, median of %d: direct %s; behind one bastion %s (its handshake included), %s (bastion already connected)",
			rounds, median(direct), median(via), median(warm))
	})

	t.Run("inline bastion", func(t *testing.T) {
		inline := t.TempDir()
		h := targets[0]
		// The bastion borrows the host's user, key and known_hosts.
		writeFile(t, filepath.Join(inline, "hosts.yaml"), bastionHost(h, "web", "")+
			fmt.Sprintf("  jump: {address: 127.0.0.1, port: %d}\n", b1.Port))
		r := run(t, &cfg, "run", "-f", inline, "--", "hostname")
		if want := "[" + h.Name + "] " + h.Name + "\n"; r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Fatalf("run through an inline bastion: want %q:\n%s", want, r)
		}
	})

	t.Run("wrong host key behind the bastion", func(t *testing.T) {
		h := targets[1]
		h.RotateHostKeys(t)
		r := run(t, &cfg, "run", "-f", dir, "-l", "role=web", "--", "true")
		want := fmt.Sprintf("host %s (%s via %s): host key mismatch", h.Name, h.Addr(), b1.Name)
		if r.code != 1 || !strings.Contains(r.stdout+r.stderr, want) {
			t.Fatalf("run with %s's key changed: want exit 1 and %q:\n%s", h.Name, want, r)
		}
	})

	t.Run("wrong bastion host key", func(t *testing.T) {
		b1.RotateHostKeys(t)
		r := run(t, &cfg, "apply", "-f", dir, "-l", "role=web", "--yes")
		want := fmt.Sprintf("host %s via bastion %s (%s): host key mismatch", targets[0].Name, b1.Name, b1.Addr())
		if r.code != 3 || !strings.Contains(r.stdout+r.stderr, want) {
			t.Fatalf("apply with bastion1's key changed: want exit 3 and %q:\n%s", want, r)
		}
		set, err := (&manifest.Loader{Scheme: cfg.Scheme}).Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range set.Hosts() {
			if h.Metadata.Name != targets[2].Name {
				continue
			}
			// Two hops out, the error still names the bastion that failed.
			_, err := cfg.Transports.Dial(context.Background(), h)
			var ce *transport.ConnectError
			if !errors.As(err, &ce) || ce.Reason != transport.ReasonHostKey || ce.Via != b1.Name || ce.Retryable() {
				t.Fatalf("dial %s behind two bastions: want a terminal host-key ConnectError at %s, got %#v (%v)", h.Metadata.Name, b1.Name, ce, err)
			}
		}
	})
}

func dialAll(t *testing.T, ctx context.Context, reg *transport.Registry, hosts []*v1alpha1.Host) []transport.Conn {
	t.Helper()
	conns := make([]transport.Conn, len(hosts))
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() { conns[i], errs[i] = reg.Dial(ctx, h) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		closeAll(conns)
		t.Fatal(err)
	}
	return conns
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2].Round(time.Millisecond)
}

func closeAll(conns []transport.Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

// established counts TCP connections in state ESTABLISHED to port 22 inside
// h's container.
func established(t *testing.T, h *testhost.Host) int {
	t.Helper()
	out := h.Exec(t, `cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$2 ~ /:0016$/ && $4 == "01"' | wc -l`)
	var n int
	fmt.Sscan(strings.TrimSpace(out), &n)
	return n
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
