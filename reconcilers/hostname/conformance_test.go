package hostname_test

import (
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/internal/testenv"
	"github.com/optimus-cm/optimus/reconcilers/hostname"
	"github.com/optimus-cm/optimus/reconcilertest"
	"github.com/optimus-cm/optimus/test/testhost"
	"github.com/optimus-cm/optimus/transport"
)

var pool = &testhost.Pool{N: 1}

func TestMain(m *testing.M) { testenv.Main(m, pool) }

// In the test containers /etc/hostname is a bind mount (rename fails with
// EBUSY) and the running name cannot be set (no CAP_SYS_ADMIN).
func TestConformance(t *testing.T) {
	s, h := testenv.Suite(t, pool, hostname.Kind)
	doc := testenv.Header
	if !strings.Contains(h.Exec(t, "cat /proc/self/mounts"), " /etc/hostname ") {
		t.Fatal("the test host's /etc/hostname is not a bind mount: the case would not prove the in-place write")
	}
	running := strings.TrimSpace(h.Exec(t, "uname -n"))
	reconcilertest.Run(t, s, reconcilertest.Case{
		Name:    "bind-mounted /etc/hostname",
		Present: doc("Hostname", "web-renamed") + "\n",
		Verify: func(t *testing.T, conn transport.Conn) {
			if got := testenv.Sh(t, conn, "cat /etc/hostname; uname -n; ls -a /etc | grep -c '^.optimus' || true"); got != "web-renamed\n"+running+"\n0\n" {
				t.Errorf("got %q", got)
			}
		},
		Invalid: []string{doc("Hostname", "bad") + "  name: \"-web_1\"\n"},
	})
	t.Run("drift repaired, running name reported", func(t *testing.T) {
		h.Exec(t, "echo other >/etc/hostname")
		note := "running name " + running + ", not web-renamed: the host withholds CAP_SYS_ADMIN"
		rep := testenv.Run(t, s, doc("Hostname", "web-renamed")+"\n", true)
		if acts := testenv.Actions(rep); len(acts) != 1 || acts[0].Changes[0].Before != "other" || !strings.Contains(testenv.Notes(rep), note) {
			t.Fatalf("plan %+v, notes %q", acts, testenv.Notes(rep))
		}
		if rep := testenv.Run(t, s, doc("Hostname", "web-renamed")+"\n", false); !rep.Converged {
			t.Fatalf("not converged: %+v", rep.Hosts)
		}
		// Converged, the note stays visible in every plan, with no action.
		if rep := testenv.Run(t, s, doc("Hostname", "web-renamed")+"\n", true); len(rep.Plans) != 0 || !strings.Contains(testenv.Notes(rep), note) {
			t.Fatalf("converged plan %+v, notes %q", testenv.Actions(rep), testenv.Notes(rep))
		}
		h.Exec(t, "echo "+running+" >/etc/hostname")
	})
}
