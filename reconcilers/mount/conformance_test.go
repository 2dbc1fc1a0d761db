package mount_test

import (
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/internal/testenv"
	"github.com/optimus-cm/optimus/reconcilers/mount"
	"github.com/optimus-cm/optimus/reconcilertest"
	"github.com/optimus-cm/optimus/test/testhost"
	"github.com/optimus-cm/optimus/transport"
)

var pool = &testhost.Pool{N: 1}

func TestMain(m *testing.M) { testenv.Main(m, pool) }

// The test hosts are unprivileged containers: the fstab entry converges,
// and mounting is reported as not possible rather than retried. Mounting
// itself needs CAP_SYS_ADMIN, which the test hosts do not have.
func TestConformance(t *testing.T) {
	s, h := testenv.Suite(t, pool, mount.Kind)
	doc := testenv.Header
	h.Exec(t, "printf '# static file system information\\nproc /proc proc defaults 0 0\\n' >/etc/fstab")
	const line = "tmpfs /srv/optimus-cache tmpfs size=16m,mode=1777 0 0\n"
	reconcilertest.Run(t, s,
		reconcilertest.Case{
			Name: "fstab entries",
			Present: doc("Mount", "cache") + "  path: /srv/optimus-cache\n  source: tmpfs\n  fstype: tmpfs\n  options: size=16m,mode=1777\n  state: present\n---\n" +
				doc("Mount", "spaced") + "  path: /srv/optimus data\n  source: /dev/disk/by-label/data\n  fstype: ext4\n  pass: 2\n  state: unmounted\n",
			Absent: doc("Mount", "cache") + "  path: /srv/optimus-cache\n  state: absent\n---\n" +
				doc("Mount", "spaced") + "  path: /srv/optimus data\n  state: absent\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				got := testenv.Sh(t, conn, "cat /etc/fstab; stat -c '%a %U' /etc/fstab")
				want := "# static file system information\nproc /proc proc defaults 0 0\n" + line +
					"/dev/disk/by-label/data /srv/optimus\\040data ext4 defaults 0 2\n644 root\n"
				if got != want {
					t.Errorf("got %q\nwant %q", got, want)
				}
			},
			Invalid: []string{
				doc("Mount", "rel") + "  path: srv\n  source: tmpfs\n  fstype: tmpfs\n",
				doc("Mount", "nosrc") + "  path: /srv/x\n  fstype: tmpfs\n",
				doc("Mount", "space") + "  path: /srv/x\n  source: a b\n  fstype: tmpfs\n",
				doc("Mount", "pass") + "  path: /srv/x\n  source: tmpfs\n  fstype: tmpfs\n  pass: 3\n",
			},
		},
		reconcilertest.Case{
			Name:    "mounted: fstab converges, mounting noted as not possible",
			Present: doc("Mount", "cache") + "  path: /srv/optimus-cache\n  source: tmpfs\n  fstype: tmpfs\n  options: size=16m,mode=1777\n",
			Absent:  doc("Mount", "cache") + "  path: /srv/optimus-cache\n  state: absent\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				if got := testenv.Sh(t, conn, "grep optimus-cache /etc/fstab; grep -c optimus-cache /proc/self/mounts || true"); got != line+"0\n" {
					t.Errorf("got %q", got)
				}
			},
		},
	)

	t.Run("plan says mounting needs CAP_SYS_ADMIN; drift repaired", func(t *testing.T) {
		res := doc("Mount", "cache") + "  path: /srv/optimus-cache\n  source: tmpfs\n  fstype: tmpfs\n  options: size=16m\n"
		const note = "cannot mount /srv/optimus-cache: the host withholds CAP_SYS_ADMIN"
		rep := testenv.Run(t, s, res, true)
		if acts := testenv.Actions(rep); len(acts) != 1 || !strings.Contains(testenv.Notes(rep), note) {
			t.Fatalf("plan %+v, notes %q", acts, testenv.Notes(rep))
		}
		if rep := testenv.Run(t, s, res, false); !rep.Converged {
			t.Fatalf("not converged: %+v", rep.Hosts)
		}
		// Converged, the note stays visible in every plan, with no action.
		if rep := testenv.Run(t, s, res, true); len(rep.Plans) != 0 || !strings.Contains(testenv.Notes(rep), note) {
			t.Fatalf("converged plan %+v, notes %q", testenv.Actions(rep), testenv.Notes(rep))
		}
		h.Exec(t, "sed -i 's/size=16m/size=32m/' /etc/fstab")
		acts := testenv.Actions(testenv.Run(t, s, res, true))
		if len(acts) != 1 || acts[0].Changes[0].Before != "tmpfs /srv/optimus-cache tmpfs size=32m 0 0" {
			t.Fatalf("plan %+v", acts)
		}
	})
}
