package pkg_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/internal/testenv"
	"github.com/optimus-cm/optimus/reconcilers/pkg"
	"github.com/optimus-cm/optimus/reconcilertest"
	"github.com/optimus-cm/optimus/test/testhost"
	"github.com/optimus-cm/optimus/transport"
)

var pool = &testhost.Pool{N: 1}

func TestMain(m *testing.M) { testenv.Main(m, pool) }

// RepoScript builds tiny .debs with dpkg-deb inside the host, indexes them
// (no dpkg-dev needed) and makes them the host's only apt source.
// Arguments: "name=version" pairs to add.
const RepoScript = `set -e
R=/srv/optimus-repo; mkdir -p $R; cd $R
for nv in "$@"; do
	n=${nv%=*}; v=${nv#*=}; b=$(mktemp -d)
	mkdir -p $b/DEBIAN $b/usr/share/$n
	printf 'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: optimus tests <t@example.com>\nDescription: optimus test package\n' $n $v >$b/DEBIAN/control
	echo $v >$b/usr/share/$n/version
	dpkg-deb --root-owner-group --build $b $R/${n}_${v}_all.deb >/dev/null; rm -rf $b
done
for d in *.deb; do dpkg-deb -f $d; printf 'Filename: ./%s\nSize: %s\nSHA256: %s\n\n' $d $(stat -c %s $d) $(sha256sum <$d | cut -c1-64); done >Packages
[ ! -e /etc/apt/sources.list ] || mv /etc/apt/sources.list /etc/apt/sources.list.disabled
echo "deb [trusted=yes] file:$R ./" >/etc/apt/sources.list.d/optimus.list
apt-get update -q >/dev/null
`

func TestConformance(t *testing.T) {
	s, h := testenv.Suite(t, pool, pkg.Kind)
	h.Exec(t, "cat >/tmp/repo.sh <<'EOF'\n"+RepoScript+"EOF\nsh /tmp/repo.sh optimus-hello=1.0 optimus-world=1.0")
	doc := testenv.Header
	reconcilertest.Run(t, s, reconcilertest.Case{
		Name:    "present and absent",
		Present: doc("Package", "hello") + "  names: [optimus-hello, optimus-world]\n",
		Absent:  doc("Package", "hello") + "  names: [optimus-hello, optimus-world]\n  state: absent\n",
		Verify: func(t *testing.T, conn transport.Conn) {
			if got := testenv.Sh(t, conn, "cat /usr/share/optimus-hello/version /usr/share/optimus-world/version"); got != "1.0\n1.0\n" {
				t.Errorf("got %q", got)
			}
		},
		Invalid: []string{
			doc("Package", "bad") + "  names: [\"-rf\"]\n",
			doc("Package", "mgr") + "  manager: pacman\n",
		},
	})
	// A fresh host: the lists were never fetched, so apt knows no package
	// of the repository; one apply refreshes them and installs.
	h.Exec(t, "rm -rf /var/lib/apt/lists/*_* /var/lib/apt/periodic && sh /tmp/repo.sh optimus-fresh=1.0 && rm -rf /var/lib/apt/lists/*_*")
	if got := h.Exec(t, "apt-cache policy optimus-fresh"); strings.Contains(got, "Candidate") {
		t.Fatalf("the lists know optimus-fresh before the test: %q", got)
	}
	reconcilertest.Run(t, s, reconcilertest.Case{
		Name:    "empty lists are refreshed once",
		Present: doc("Package", "optimus-fresh") + "\n",
		Verify: func(t *testing.T, conn transport.Conn) {
			if got := testenv.Sh(t, conn, "cat /usr/share/optimus-fresh/version; test -e /var/lib/apt/periodic/update-success-stamp && echo stamped"); got != "1.0\nstamped\n" {
				t.Errorf("got %q", got)
			}
		},
	})
	t.Run("plan says refresh, then install", func(t *testing.T) {
		h.Exec(t, "apt-get remove -y -q optimus-fresh >/dev/null && rm -rf /var/lib/apt/lists/*_* /var/lib/apt/periodic")
		acts := testenv.Actions(testenv.Run(t, s, doc("Package", "optimus-fresh")+"\n", true))
		if len(acts) != 1 || acts[0].Description != "refresh package lists, then install package optimus-fresh (apt)" {
			t.Fatalf("plan %+v", acts)
		}
	})
	t.Run("a failed refresh fails the Package with apt's message", func(t *testing.T) {
		h.Exec(t, "echo 'deb [trusted=yes] http://127.0.0.1:9/unreachable ./' >/etc/apt/sources.list.d/unreachable.list")
		defer h.Exec(t, "rm -f /etc/apt/sources.list.d/unreachable.list && apt-get update -q >/dev/null")
		rep := testenv.Run(t, s, doc("Package", "optimus-fresh")+"\n", false)
		if f := testenv.Failure(rep); !strings.Contains(f, "127.0.0.1:9") || !strings.Contains(f, "optimus-fresh") {
			t.Errorf("failure %q", f)
		}
	})
	// Two Package resources, one transaction: apt's history gains one entry.
	transactions := func() int {
		n, err := strconv.Atoi(strings.TrimSpace(h.Exec(t, "grep -c '^Start-Date' /var/log/apt/history.log || true")))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := transactions()
	reconcilertest.Run(t, s, reconcilertest.Case{
		Name:    "one transaction for every Package resource of a host",
		Present: doc("Package", "hello") + "  names: [optimus-hello]\n---\n" + doc("Package", "world") + "  names: [optimus-world]\n",
		Absent:  doc("Package", "hello") + "  names: [optimus-hello]\n  state: absent\n---\n" + doc("Package", "world") + "  names: [optimus-world]\n  state: absent\n",
		Verify: func(t *testing.T, conn transport.Conn) {
			if got := transactions(); got != before+1 {
				t.Errorf("apt ran %d transactions for two Package resources, want 1", got-before)
			}
		},
	})
	h.Exec(t, "DEBIAN_FRONTEND=noninteractive apt-get install -y -q optimus-hello >/dev/null && sh /tmp/repo.sh optimus-hello=2.0")
	reconcilertest.Run(t, s, reconcilertest.Case{
		Name:    "latest upgrades to the candidate",
		Present: doc("Package", "optimus-hello") + "  state: latest\n",
		Verify: func(t *testing.T, conn transport.Conn) {
			if got := testenv.Sh(t, conn, "cat /usr/share/optimus-hello/version"); got != "2.0\n" {
				t.Errorf("got %q", got)
			}
		},
	})
}
