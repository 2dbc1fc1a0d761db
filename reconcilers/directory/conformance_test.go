package directory_test

import (
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/internal/testenv"
	"github.com/optimus-cm/optimus/reconcilers/directory"
	"github.com/optimus-cm/optimus/reconcilers/symlink"
	"github.com/optimus-cm/optimus/reconcilertest"
	"github.com/optimus-cm/optimus/test/testhost"
	"github.com/optimus-cm/optimus/transport"
)

var pool = &testhost.Pool{N: 1}

func TestMain(m *testing.M) { testenv.Main(m, pool) }

func TestConformance(t *testing.T) {
	s, h := testenv.Suite(t, pool, directory.Kind, symlink.Kind)
	doc := testenv.Header
	reconcilertest.Run(t, s,
		reconcilertest.Case{
			Name:    "directory",
			Present: doc("Directory", "data") + "  path: /srv/optimus-data/sub\n  mode: \"2750\"\n  owner: deploy\n  group: operator\n",
			Absent:  doc("Directory", "data") + "  path: /srv/optimus-data/sub\n  state: absent\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				if got := testenv.Sh(t, conn, "stat -c '%a %U %G' /srv/optimus-data/sub"); got != "2750 deploy operator\n" {
					t.Errorf("got %q", got)
				}
			},
			Invalid: []string{
				doc("Directory", "rel") + "  path: srv\n",
				doc("Directory", "state") + "  path: /srv\n  state: gone\n",
			},
		},
		reconcilertest.Case{
			Name:    "symlink",
			Present: doc("Symlink", "cur") + "  path: /srv/optimus-current\n  target: /srv/optimus-data\n",
			Absent:  doc("Symlink", "cur") + "  path: /srv/optimus-current\n  state: absent\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				if got := testenv.Sh(t, conn, "readlink /srv/optimus-current"); got != "/srv/optimus-data\n" {
					t.Errorf("got %q", got)
				}
			},
			Invalid: []string{doc("Symlink", "notarget") + "  path: /srv/x\n"},
		},
	)

	t.Run("non-empty directory needs force", func(t *testing.T) {
		h.Exec(t, "mkdir -p /srv/optimus-full && touch /srv/optimus-full/f")
		rep := testenv.Run(t, s, doc("Directory", "full")+"  path: /srv/optimus-full\n  state: absent\n", false)
		if f := testenv.Failure(rep); !strings.Contains(f, "not empty: set force: true") {
			t.Errorf("failure %q", f)
		}
		rep = testenv.Run(t, s, doc("Directory", "full")+"  path: /srv/optimus-full\n  state: absent\n  force: true\n", false)
		if f := testenv.Failure(rep); f != "" || !rep.Converged {
			t.Errorf("force: %q", f)
		}
	})

	t.Run("symlink replaces a file only with force", func(t *testing.T) {
		h.Exec(t, "echo x >/srv/optimus-link")
		link := doc("Symlink", "l") + "  path: /srv/optimus-link\n  target: /etc/hostname\n"
		if f := testenv.Failure(testenv.Run(t, s, link, false)); !strings.Contains(f, "set force: true") {
			t.Errorf("failure %q", f)
		}
		if f := testenv.Failure(testenv.Run(t, s, link+"  force: true\n", false)); f != "" {
			t.Error(f)
		}
		if got := h.Exec(t, "readlink /srv/optimus-link"); got != "/etc/hostname\n" {
			t.Errorf("link %q", got)
		}
	})
}
