package sysctl_test

import (
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/internal/testenv"
	"github.com/optimus-cm/optimus/reconcilers/sysctl"
	"github.com/optimus-cm/optimus/reconcilertest"
	"github.com/optimus-cm/optimus/test/testhost"
	"github.com/optimus-cm/optimus/transport"
)

var pool = &testhost.Pool{N: 1}

func TestMain(m *testing.M) { testenv.Main(m, pool) }

// The test hosts are unprivileged containers: /proc/sys is read-only, so
// the persisted value converges and the live one is reported, not retried.
func TestConformance(t *testing.T) {
	s, h := testenv.Suite(t, pool, sysctl.Kind)
	doc := testenv.Header
	live := strings.TrimSpace(h.Exec(t, "cat /proc/sys/net/ipv4/ip_forward"))
	want := "1"
	if live == "1" {
		want = "0"
	}
	present := doc("Sysctl", "net.ipv4.ip_forward") + "  value: \"" + want + "\"\n---\n" +
		doc("Sysctl", "rmem") + "  name: net.ipv4.tcp_rmem\n  value: \"4096   131072 6291456\"\n"
	reconcilertest.Run(t, s, reconcilertest.Case{
		Name:    "persisted; live value not settable in a container",
		Present: present,
		Absent: doc("Sysctl", "net.ipv4.ip_forward") + "  state: absent\n---\n" +
			doc("Sysctl", "rmem") + "  name: net.ipv4.tcp_rmem\n  state: absent\n",
		Verify: func(t *testing.T, conn transport.Conn) {
			got := testenv.Sh(t, conn, "cat /etc/sysctl.d/90-optimus-net.ipv4.ip_forward.conf /etc/sysctl.d/90-optimus-net.ipv4.tcp_rmem.conf; stat -c '%a %U' /etc/sysctl.d/90-optimus-net.ipv4.ip_forward.conf")
			wantFiles := "# Managed by Optimus (Sysctl/net.ipv4.ip_forward).\nnet.ipv4.ip_forward = " + want + "\n" +
				"# Managed by Optimus (Sysctl/rmem).\nnet.ipv4.tcp_rmem = 4096 131072 6291456\n644 root\n"
			if got != wantFiles {
				t.Errorf("got %q, want %q", got, wantFiles)
			}
		},
		Invalid: []string{
			doc("Sysctl", "bad") + "  name: \"net ipv4\"\n  value: \"1\"\n",
			doc("Sysctl", "novalue") + "  name: net.ipv4.ip_forward\n",
		},
	})

	t.Run("plan notes the read-only live value", func(t *testing.T) {
		res := doc("Sysctl", "net.ipv4.ip_forward") + "  value: \"" + want + "\"\n"
		note := "live value " + live + ", not " + want + ": /proc/sys is read-only here"
		rep := testenv.Run(t, s, res, true)
		if acts := testenv.Actions(rep); len(acts) != 1 || !strings.Contains(testenv.Notes(rep), note) {
			t.Fatalf("plan %+v, notes %q", acts, testenv.Notes(rep))
		}
		if rep := testenv.Run(t, s, res, false); !rep.Converged {
			t.Fatalf("not converged: %+v", rep.Hosts)
		}
		// Persisted, the live value stays noted in every plan, with no action.
		if rep := testenv.Run(t, s, res, true); len(rep.Plans) != 0 || !strings.Contains(testenv.Notes(rep), note) {
			t.Fatalf("converged plan %+v, notes %q", testenv.Actions(rep), testenv.Notes(rep))
		}
	})

	t.Run("drift of the persisted file is repaired", func(t *testing.T) {
		res := doc("Sysctl", "net.ipv4.ip_forward") + "  value: \"" + want + "\"\n"
		if f := testenv.Failure(testenv.Run(t, s, res, false)); f != "" {
			t.Fatal(f)
		}
		h.Exec(t, "echo 'net.ipv4.ip_forward = 7' >/etc/sysctl.d/90-optimus-net.ipv4.ip_forward.conf")
		acts := testenv.Actions(testenv.Run(t, s, res, true))
		if len(acts) != 1 || acts[0].Changes[0].Before != "7" {
			t.Fatalf("plan %+v", acts)
		}
		if rep := testenv.Run(t, s, res, false); !rep.Converged {
			t.Fatalf("not converged: %+v", rep.Hosts)
		}
	})

	t.Run("unknown parameter", func(t *testing.T) {
		rep := testenv.Run(t, s, doc("Sysctl", "net.ipv4.no_such_thing")+"  value: \"1\"\n", true)
		if f := testenv.Failure(rep); !strings.Contains(f, "the kernel has no parameter net.ipv4.no_such_thing") {
			t.Errorf("failure %q", f)
		}
	})
}
