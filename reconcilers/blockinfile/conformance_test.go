package blockinfile_test

import (
	"testing"

	"github.com/optimus-cm/optimus/internal/testenv"
	"github.com/optimus-cm/optimus/reconcilers/blockinfile"
	"github.com/optimus-cm/optimus/reconcilers/lineinfile"
	"github.com/optimus-cm/optimus/reconcilertest"
	"github.com/optimus-cm/optimus/test/testhost"
	"github.com/optimus-cm/optimus/transport"
)

var pool = &testhost.Pool{N: 1}

func TestMain(m *testing.M) { testenv.Main(m, pool) }

func TestConformance(t *testing.T) {
	s, h := testenv.Suite(t, pool, blockinfile.Kind, lineinfile.Kind)
	doc := testenv.Header
	h.Exec(t, "printf 'a\\nb\\n' >/etc/optimus-blocks && chmod 0640 /etc/optimus-blocks && chown deploy /etc/optimus-blocks")
	reconcilertest.Run(t, s,
		reconcilertest.Case{
			Name: "two blocks and a line in one existing file, in one cycle",
			Present: doc("BlockInFile", "one") + "  path: /etc/optimus-blocks\n  block: |\n    x = 1\n    y = 2\n  insertAfter: ^a$\n---\n" +
				doc("BlockInFile", "two") + "  path: /etc/optimus-blocks\n  block: z = 3\n  insertBefore: BOF\n---\n" +
				doc("LineInFile", "c") + "  path: /etc/optimus-blocks\n  line: c\n",
			Absent: doc("BlockInFile", "one") + "  path: /etc/optimus-blocks\n  state: absent\n---\n" +
				doc("BlockInFile", "two") + "  path: /etc/optimus-blocks\n  state: absent\n---\n" +
				doc("LineInFile", "c") + "  path: /etc/optimus-blocks\n  line: c\n  state: absent\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				want := "# BEGIN OPTIMUS MANAGED BLOCK two\nz = 3\n# END OPTIMUS MANAGED BLOCK two\na\n" +
					"# BEGIN OPTIMUS MANAGED BLOCK one\nx = 1\ny = 2\n# END OPTIMUS MANAGED BLOCK one\nb\nc\n640 deploy\n"
				if got := testenv.Sh(t, conn, "cat /etc/optimus-blocks; stat -c '%a %U' /etc/optimus-blocks"); got != want {
					t.Errorf("got %q, want %q", got, want)
				}
			},
			Invalid: []string{
				doc("BlockInFile", "nomark") + "  path: /etc/x\n  block: a\n  marker: '# managed'\n",
				doc("BlockInFile", "noblock") + "  path: /etc/x\n",
				doc("BlockInFile", "re") + "  path: /etc/x\n  block: a\n  insertAfter: \"(\"\n",
			},
		},
		reconcilertest.Case{
			Name: "a new file with its owner and mode",
			Present: doc("BlockInFile", "conf") + "  path: /etc/optimus-block-new\n  create: true\n  owner: deploy\n  mode: \"0600\"\n" +
				"  marker: '<!-- {mark} conf -->'\n  block: <a/>\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				want := "<!-- BEGIN conf -->\n<a/>\n<!-- END conf -->\n600 deploy\n"
				if got := testenv.Sh(t, conn, "cat /etc/optimus-block-new; stat -c '%a %U' /etc/optimus-block-new"); got != want {
					t.Errorf("got %q, want %q", got, want)
				}
			},
		},
	)
}
