package cron_test

import (
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/internal/testenv"
	"github.com/optimus-cm/optimus/reconcilers/cron"
	"github.com/optimus-cm/optimus/reconcilers/user"
	"github.com/optimus-cm/optimus/reconcilertest"
	"github.com/optimus-cm/optimus/test/testhost"
	"github.com/optimus-cm/optimus/transport"
)

var pool = &testhost.Pool{N: 1}

func TestMain(m *testing.M) { testenv.Main(m, pool) }

// The test image has no cron package: user crontabs are spool files, which
// is what crontab(1) would write and cron would read once installed.
func TestConformance(t *testing.T) {
	s, h := testenv.Suite(t, pool, cron.Kind, user.Kind)
	if h.Exec(t, "command -v crontab || true") != "" {
		t.Fatal("the test image has crontab(1): this test expects to cover the spool-file path")
	}
	doc := testenv.Header
	h.Exec(t, "mkdir -p /var/spool/cron/crontabs && printf '# kept\\n5 4 * * * /usr/bin/true\\n' >/var/spool/cron/crontabs/root && chmod 600 /var/spool/cron/crontabs/root")
	reconcilertest.Run(t, s,
		reconcilertest.Case{
			Name: "entries of user crontabs",
			Present: doc("Cron", "backup") + "  schedule: \"30 2 * * mon-fri\"\n  command: /usr/local/bin/backup --quiet\n---\n" +
				doc("Cron", "report") + "  schedule: \"@daily\"\n  command: echo report\n---\n" +
				doc("User", "cronuser") + "  shell: /bin/sh\n---\n" +
				doc("Cron", "sync") + "  user: cronuser\n  schedule: \"*/15 * * * *\"\n  command: echo sync\n",
			Absent: doc("Cron", "backup") + "  state: absent\n---\n" + doc("Cron", "report") + "  state: absent\n---\n" +
				doc("Cron", "sync") + "  user: cronuser\n  state: absent\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				got := testenv.Sh(t, conn, "cat /var/spool/cron/crontabs/root; stat -c '%a %U %G' /var/spool/cron/crontabs/cronuser; cat /var/spool/cron/crontabs/cronuser")
				want := "# kept\n5 4 * * * /usr/bin/true\n# optimus: backup\n30 2 * * mon-fri /usr/local/bin/backup --quiet\n# optimus: report\n@daily echo report\n" +
					"600 cronuser root\n# optimus: sync\n*/15 * * * * echo sync\n"
				if got != want {
					t.Errorf("got %q\nwant %q", got, want)
				}
			},
			Invalid: []string{
				doc("Cron", "minute") + "  schedule: \"61 * * * *\"\n  command: x\n",
				doc("Cron", "fields") + "  schedule: \"* * *\"\n  command: x\n",
				doc("Cron", "shortcut") + "  schedule: \"@sometimes\"\n  command: x\n",
				doc("Cron", "nocommand") + "  schedule: \"@daily\"\n",
				doc("Cron", "file") + "  schedule: \"@daily\"\n  command: x\n  cronFile: a.b\n",
			},
		},
		reconcilertest.Case{
			Name:    "a file in /etc/cron.d",
			Present: doc("Cron", "rotate") + "  cronFile: optimus-rotate\n  user: nobody\n  schedule: \"0 */6 * * *\"\n  command: /usr/sbin/logrotate /etc/logrotate.conf\n",
			Absent:  doc("Cron", "rotate") + "  cronFile: optimus-rotate\n  state: absent\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				got := testenv.Sh(t, conn, "stat -c '%a %U' /etc/cron.d/optimus-rotate; cat /etc/cron.d/optimus-rotate")
				if want := "644 root\n# Managed by Optimus (Cron/rotate).\n0 */6 * * * nobody /usr/sbin/logrotate /etc/logrotate.conf\n"; got != want {
					t.Errorf("got %q", got)
				}
			},
		},
	)
	if got := h.Exec(t, "cat /var/spool/cron/crontabs/root"); got != "# kept\n5 4 * * * /usr/bin/true\n" {
		t.Errorf("absent did not leave the other entries alone: %q", got)
	}

	t.Run("drift repaired", func(t *testing.T) {
		res := doc("Cron", "backup") + "  schedule: \"30 2 * * *\"\n  command: /usr/local/bin/backup\n"
		if f := testenv.Failure(testenv.Run(t, s, res, false)); f != "" {
			t.Fatal(f)
		}
		h.Exec(t, "sed -i 's|^30 2 |45 3 |' /var/spool/cron/crontabs/root")
		acts := testenv.Actions(testenv.Run(t, s, res, true))
		if len(acts) != 1 || acts[0].Changes[0].Before != "45 3 * * * /usr/local/bin/backup" {
			t.Fatalf("plan %+v", acts)
		}
		if rep := testenv.Run(t, s, res, false); !rep.Converged {
			t.Fatalf("not converged: %+v", rep.Hosts)
		}
		if got := h.Exec(t, "grep -c -e '^# optimus: backup$' -e 'backup$' /var/spool/cron/crontabs/root"); strings.TrimSpace(got) != "2" {
			t.Errorf("entry duplicated: %q", got)
		}
	})
}
