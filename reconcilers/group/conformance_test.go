package group_test

import (
	"testing"

	"github.com/optimus-cm/optimus/internal/testenv"
	"github.com/optimus-cm/optimus/reconcilers/group"
	"github.com/optimus-cm/optimus/reconcilertest"
	"github.com/optimus-cm/optimus/test/testhost"
	"github.com/optimus-cm/optimus/transport"
)

var pool = &testhost.Pool{N: 1}

func TestMain(m *testing.M) { testenv.Main(m, pool) }

func TestConformance(t *testing.T) {
	s, h := testenv.Suite(t, pool, group.Kind)
	doc := testenv.Header
	reconcilertest.Run(t, s,
		reconcilertest.Case{
			Name:    "group with gid",
			Present: doc("Group", "ops") + "  gid: 4200\n",
			Absent:  doc("Group", "ops") + "  state: absent\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				r, err := transport.Run(t.Context(), conn, "getent group ops")
				if err != nil || string(r.Stdout) != "ops:x:4200:\n" {
					t.Errorf("getent group ops = %q %v", r.Stdout, err)
				}
			},
			Invalid: []string{doc("Group", "ops") + "  gid: -5\n", doc("Group", "ops") + "  state: maybe\n"},
		},
		reconcilertest.Case{Name: "system group", Present: doc("Group", "sysops") + "  system: true\n", Absent: doc("Group", "sysops") + "  state: absent\n"},
	)
	// A changed gid is corrected.
	h.Exec(t, "groupadd -g 4300 moved")
	if rep := testenv.Run(t, s, doc("Group", "moved")+"  gid: 4301\n", false); !rep.Converged {
		t.Fatalf("gid change did not converge: %s", testenv.Failure(rep))
	}
	if got := h.Exec(t, "getent group moved"); got != "moved:x:4301:\n" {
		t.Errorf("after gid change: %q", got)
	}
}
