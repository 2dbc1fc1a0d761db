package lineinfile_test

import (
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/internal/testenv"
	"github.com/optimus-cm/optimus/reconcilers/file"
	"github.com/optimus-cm/optimus/reconcilers/lineinfile"
	"github.com/optimus-cm/optimus/reconcilertest"
	"github.com/optimus-cm/optimus/test/testhost"
	"github.com/optimus-cm/optimus/transport"
)

var pool = &testhost.Pool{N: 1}

func TestMain(m *testing.M) { testenv.Main(m, pool) }

func TestConformance(t *testing.T) {
	s, h := testenv.Suite(t, pool, lineinfile.Kind, file.Kind)
	doc := testenv.Header
	h.Exec(t, "printf '# config\\nport = 80\\n# end' >/etc/optimus-existing && chmod 0640 /etc/optimus-existing && chown deploy /etc/optimus-existing")
	reconcilertest.Run(t, s,
		reconcilertest.Case{
			Name: "two edits of a new file in one cycle",
			Present: doc("File", "f") + "  path: /etc/optimus-lines\n---\n" +
				doc("LineInFile", "port") + "  path: /etc/optimus-lines\n  line: port = 8080\n  regexp: ^port\n---\n" +
				doc("LineInFile", "name") + "  path: /etc/optimus-lines\n  line: name = x\n",
			Absent: doc("LineInFile", "port") + "  path: /etc/optimus-lines\n  regexp: ^port\n  state: absent\n---\n" +
				doc("LineInFile", "name") + "  path: /etc/optimus-lines\n  line: name = x\n  state: absent\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				if got := testenv.Sh(t, conn, "cat /etc/optimus-lines"); got != "port = 8080\nname = x\n" {
					t.Errorf("got %q", got)
				}
			},
			Invalid: []string{
				doc("LineInFile", "re") + "  path: /etc/x\n  line: a\n  regexp: \"(\"\n",
				doc("LineInFile", "noline") + "  path: /etc/x\n",
			},
		},
		reconcilertest.Case{
			Name: "replace and insert after in an existing file",
			Present: doc("LineInFile", "port") + "  path: /etc/optimus-existing\n  line: port = 8080\n  regexp: ^port\n---\n" +
				doc("LineInFile", "host") + "  path: /etc/optimus-existing\n  line: host = 0.0.0.0\n  insertAfter: ^# config\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				got := testenv.Sh(t, conn, "cat /etc/optimus-existing; stat -c '%a %U' /etc/optimus-existing")
				if got != "# config\nhost = 0.0.0.0\nport = 8080\n# end\n640 deploy\n" {
					t.Errorf("got %q", got)
				}
			},
		},
		reconcilertest.Case{
			Name: "several lines of a file it creates, with owner and mode, validated",
			Present: doc("LineInFile", "conf") + "  path: /etc/optimus-created\n  create: true\n  owner: deploy\n  mode: \"0600\"\n" +
				"  validate: grep -q '^b = 2$' %s\n  lines:\n  - {regexp: '^a', line: a = 3}\n  - {line: b = 2, insertBefore: '^a'}\n",
			Absent: doc("LineInFile", "conf") + "  path: /etc/optimus-created\n  state: absent\n  lines:\n  - {regexp: '^a'}\n  - {line: b = 2}\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				if got := testenv.Sh(t, conn, "cat /etc/optimus-created; stat -c '%a %U' /etc/optimus-created"); got != "b = 2\na = 3\n600 deploy\n" {
					t.Errorf("got %q", got)
				}
			},
			Invalid: []string{
				doc("LineInFile", "both") + "  path: /etc/x\n  line: a\n  lines: [{line: b}]\n",
				doc("LineInFile", "noline") + "  path: /etc/x\n  lines: [{regexp: a}]\n",
				doc("LineInFile", "validate") + "  path: /etc/x\n  line: a\n  validate: sshd -t\n",
			},
		},
	)

	t.Run("missing file is a clear failure", func(t *testing.T) {
		rep := testenv.Run(t, s, doc("LineInFile", "x")+"  path: /etc/optimus-nofile\n  line: a\n", false)
		if f := testenv.Failure(rep); !strings.Contains(f, "/etc/optimus-nofile does not exist") {
			t.Errorf("failure %q", f)
		}
	})
}
