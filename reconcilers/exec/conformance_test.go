package exec_test

import (
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/internal/testenv"
	"github.com/optimus-cm/optimus/reconcilers/exec"
	"github.com/optimus-cm/optimus/reconcilers/file"
	"github.com/optimus-cm/optimus/reconcilertest"
	"github.com/optimus-cm/optimus/test/testhost"
	"github.com/optimus-cm/optimus/transport"
)

var pool = &testhost.Pool{N: 1}

func TestMain(m *testing.M) { testenv.Main(m, pool) }

func TestConformance(t *testing.T) {
	s, _ := testenv.Suite(t, pool, exec.Kind, file.Kind)
	doc := testenv.Header
	reconcilertest.Run(t, s,
		reconcilertest.Case{
			Name: "creates, as a user, in a directory, with env",
			Present: doc("Exec", "who") + "  command: printf '%s %s %s\\n' \"$(id -un)\" \"$PWD\" \"$FOO\" >/home/deploy/who\n" +
				"  creates: /home/deploy/who\n  user: deploy\n  cwd: /usr\n  env: {FOO: bar baz}\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				if got := testenv.Sh(t, conn, "cat /home/deploy/who"); got != "deploy /usr bar baz\n" {
					t.Errorf("got %q", got)
				}
			},
			Invalid: []string{
				doc("Exec", "noguard") + "  command: \"true\"\n",
				doc("Exec", "cwd") + "  command: \"true\"\n  creates: /x\n  cwd: rel\n",
				doc("Exec", "refresh") + "  command: \"true\"\n  refreshOnly: true\n",
			},
		},
		reconcilertest.Case{
			Name:    "unless and onlyIf",
			Present: doc("Exec", "u") + "  command: touch /var/optimus-u\n  unless: test -e /var/optimus-u\n  onlyIf: test -d /var\n",
		},
		reconcilertest.Case{
			Name: "refreshOnly runs when its trigger changes",
			Present: doc("File", "conf") + "  path: /etc/optimus-exec.conf\n  content: v1\n---\n" +
				doc("Exec", "reload") + "  command: echo run >>/var/log/optimus-reload\n  refreshOnly: true\n  restartOn: [{kind: File, name: conf}]\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				if got := testenv.Sh(t, conn, "cat /var/log/optimus-reload"); got != "run\n" {
					t.Errorf("got %q", got)
				}
			},
		},
	)

	t.Run("failure and timeout explain themselves", func(t *testing.T) {
		rep := testenv.Run(t, s, doc("Exec", "boom")+"  command: echo it broke >&2; exit 3\n  creates: /nonexistent\n", false)
		if f := testenv.Failure(rep); !strings.Contains(f, "exit status 3: it broke") {
			t.Errorf("failure %q", f)
		}
		rep = testenv.Run(t, s, doc("Exec", "slow")+"  command: sleep 5\n  creates: /nonexistent\n  timeout: 1s\n", false)
		if f := testenv.Failure(rep); !strings.Contains(f, "timed out after 1s") {
			t.Errorf("failure %q", f)
		}
	})
}
