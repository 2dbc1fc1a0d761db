package user_test

import (
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/internal/testenv"
	"github.com/optimus-cm/optimus/reconcilers/group"
	"github.com/optimus-cm/optimus/reconcilers/user"
	"github.com/optimus-cm/optimus/reconcilertest"
	"github.com/optimus-cm/optimus/test/testhost"
	"github.com/optimus-cm/optimus/transport"
)

var pool = &testhost.Pool{N: 1}

func TestMain(m *testing.M) { testenv.Main(m, pool) }

func passwdLine(t *testing.T, conn transport.Conn, name string) string {
	t.Helper()
	r, err := transport.Run(t.Context(), conn, "getent passwd "+name+"; id -nG "+name)
	if err != nil {
		t.Fatal(err)
	}
	return string(r.Stdout)
}

func TestConformance(t *testing.T) {
	s, _ := testenv.Suite(t, pool, user.Kind, group.Kind)
	doc := testenv.Header
	t.Setenv("CONF_HASH", "$6$conformance$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH")
	reconcilertest.Run(t, s,
		reconcilertest.Case{
			Name: "user with groups, uid, shell, comment, password",
			Present: doc("Group", "devs") + "  gid: 3100\n---\n" +
				doc("User", "dana") + "  uid: 3101\n  shell: /bin/bash\n  comment: Dana Scully\n  groups: [devs, sudo]\n" +
				"  passwordHashFrom: {env: CONF_HASH}\n",
			Absent: doc("User", "dana") + "  state: absent\n  removeHome: true\n---\n" + doc("Group", "devs") + "  state: absent\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				got := passwdLine(t, conn, "dana")
				if !strings.HasPrefix(got, "dana:x:3101:") || !strings.Contains(got, ":Dana Scully:/home/dana:/bin/bash") ||
					!strings.Contains(got, "devs") || !strings.Contains(got, "sudo") {
					t.Errorf("dana = %q", got)
				}
				r, _ := transport.Run(t.Context(), conn, "getent shadow dana | cut -d: -f2; test -d /home/dana && echo home")
				if string(r.Stdout) != "$6$conformance$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH\nhome\n" {
					t.Errorf("shadow/home = %q", r.Stdout)
				}
			},
			Invalid: []string{
				doc("User", "x") + "  state: gone\n",
				doc("User", "x") + "  uid: -1\n",
				doc("User", "x") + "  shell: bin/bash\n",
				doc("User", "Bad Name") + "  shell: /bin/sh\n",
				doc("User", "x") + "  groups: [\"no spaces\"]\n",
			},
		},
		reconcilertest.Case{
			Name:    "system user without home",
			Present: doc("User", "svc-agent") + "  system: true\n  createHome: false\n  shell: /usr/sbin/nologin\n",
			Absent:  doc("User", "svc-agent") + "  state: absent\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				r, _ := transport.Run(t.Context(), conn, "getent passwd svc-agent | cut -d: -f3; test -e /home/svc-agent && echo home")
				uid := strings.TrimSpace(string(r.Stdout))
				if uid == "" || len(uid) > 3 {
					t.Errorf("system uid = %q, want a low uid and no home", uid)
				}
			},
		},
	)
}
