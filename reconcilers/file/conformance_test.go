package file_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/internal/testenv"
	"github.com/optimus-cm/optimus/reconcilers/directory"
	"github.com/optimus-cm/optimus/reconcilers/file"
	"github.com/optimus-cm/optimus/reconcilers/group"
	"github.com/optimus-cm/optimus/reconcilers/user"
	"github.com/optimus-cm/optimus/reconcilertest"
	"github.com/optimus-cm/optimus/test/testhost"
	"github.com/optimus-cm/optimus/transport"
)

var pool = &testhost.Pool{N: 1}

func TestMain(m *testing.M) { testenv.Main(m, pool) }

func TestConformance(t *testing.T) {
	s, h := testenv.Suite(t, pool, file.Kind, directory.Kind, user.Kind, group.Kind)
	big := make([]byte, 10<<20)
	rand.Read(big)
	src := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(src, big, 0o600); err != nil {
		t.Fatal(err)
	}
	bigSum := sha256.Sum256(big)
	doc := testenv.Header

	reconcilertest.Run(t, s,
		reconcilertest.Case{
			Name:    "content",
			Present: doc("File", "motd") + "  path: /etc/optimus-motd\n  content: \"hello\\n\"\n  mode: \"0640\"\n  group: operator\n",
			Absent:  doc("File", "motd") + "  path: /etc/optimus-motd\n  state: absent\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				if got := testenv.Sh(t, conn, "stat -c '%a %U %G' /etc/optimus-motd; cat /etc/optimus-motd"); got != "640 root operator\nhello\n" {
					t.Errorf("got %q", got)
				}
			},
			Invalid: []string{
				doc("File", "rel") + "  path: etc/motd\n",
				doc("File", "mode") + "  path: /etc/x\n  mode: \"999\"\n",
				doc("File", "both") + "  path: /etc/x\n  content: a\n  source: " + src + "\n",
				doc("File", "validate") + "  path: /etc/x\n  content: a\n  validate: \"grep -q a\"\n",
			},
		},
		reconcilertest.Case{
			Name: "template in a new directory owned by a new user",
			Present: doc("User", "filetest") + "  shell: /bin/sh\n---\n" +
				doc("Directory", "conf") + "  path: /srv/optimus-conf\n  owner: filetest\n---\n" +
				doc("File", "tmpl") + "  path: /srv/optimus-conf/app.conf\n  owner: filetest\n  template: true\n" +
				"  content: \"host={{ .Host.Name }} role={{ index .Host.Labels \\\"testhost\\\" }}\\n\"\n",
			Absent: doc("File", "tmpl") + "  path: /srv/optimus-conf/app.conf\n  state: absent\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				want := "filetest\nhost=" + h.Name + " role=" + h.Name + "\n"
				if got := testenv.Sh(t, conn, "stat -c %U /srv/optimus-conf/app.conf; cat /srv/optimus-conf/app.conf"); got != want {
					t.Errorf("got %q, want %q", got, want)
				}
			},
		},
		reconcilertest.Case{
			Name:    "10 MB binary source",
			Present: doc("File", "big") + "  path: /var/optimus-big.bin\n  source: " + src + "\n  sensitive: true\n",
			Absent:  doc("File", "big") + "  path: /var/optimus-big.bin\n  state: absent\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				if got := testenv.Sh(t, conn, "sha256sum </var/optimus-big.bin"); !strings.HasPrefix(got, hex.EncodeToString(bigSum[:])) {
					t.Errorf("sha256 on host %s", got)
				}
			},
		},
	)

	reconcilertest.Run(t, s, reconcilertest.Case{
		Name: "validated content and facts in a template",
		Present: doc("File", "checked") + "  path: /etc/optimus-checked.conf\n  validate: \"grep -q '^ok' %s && test $(stat -c %a %s) = 600\"\n" +
			"  mode: \"0600\"\n  template: true\n  content: \"ok os={{ .Facts.OS.ID }} cpus={{ .Facts.CPUs }}\\n\"\n",
		Absent: doc("File", "checked") + "  path: /etc/optimus-checked.conf\n  state: absent\n",
		Verify: func(t *testing.T, conn transport.Conn) {
			osID := testenv.Sh(t, conn, ". /etc/os-release && echo $ID")
			want := "ok os=" + strings.TrimSpace(osID) + " cpus=" + testenv.Sh(t, conn, "nproc")
			if got := testenv.Sh(t, conn, "cat /etc/optimus-checked.conf"); got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		},
	})

	t.Run("validate rejects: the old file stays", func(t *testing.T) {
		h.Exec(t, "printf 'ok\\n' >/etc/optimus-validated.conf")
		rep := testenv.Run(t, s, doc("File", "validated")+"  path: /etc/optimus-validated.conf\n  content: \"broken\\n\"\n"+
			"  validate: \"grep -q '^ok' %s || { echo 'syntax error in' %s; exit 3; }\"\n", false)
		f := testenv.Failure(rep)
		if !strings.Contains(f, "rejected the new content of /etc/optimus-validated.conf (exit status 3)") || !strings.Contains(f, "syntax error in /etc/.optimus.") {
			t.Errorf("failure %q", f)
		}
		if got := h.Exec(t, "cat /etc/optimus-validated.conf; ls -a /etc | grep -c '^.optimus' || true"); got != "ok\n0\n" {
			t.Errorf("after a rejected validation: %q", got)
		}
	})

	t.Run("mode drift only chmods", func(t *testing.T) {
		present := doc("File", "drift") + "  path: /etc/optimus-drift\n  content: x\n  mode: \"0600\"\n"
		if f := testenv.Failure(testenv.Run(t, s, present, false)); f != "" {
			t.Fatal(f)
		}
		h.Exec(t, "chmod 0644 /etc/optimus-drift")
		acts := testenv.Actions(testenv.Run(t, s, present, true))
		if len(acts) != 1 || !strings.Contains(acts[0].Script, `chmod 0600 -- "$p"`) || strings.Contains(acts[0].Script, "cat") {
			t.Fatalf("plan %+v", acts)
		}
	})

	t.Run("diff and redaction", func(t *testing.T) {
		h.Exec(t, "printf 'a\\nb\\nc\\n' >/etc/optimus-diff; printf 'secret-old\\n' >/etc/optimus-secret")
		acts := testenv.Actions(testenv.Run(t, s, doc("File", "diff")+"  path: /etc/optimus-diff\n  content: \"a\\nB\\nc\\n\"\n---\n"+
			doc("File", "secret")+"  path: /etc/optimus-secret\n  content: \"secret-new\\n\"\n  sensitive: true\n", true))
		if len(acts) != 2 {
			t.Fatalf("plan %+v", acts)
		}
		if !strings.Contains(acts[0].Diff, "-b\n+B\n") {
			t.Errorf("diff %q", acts[0].Diff)
		}
		all := acts[1].Diff + acts[1].Description + acts[1].Changes[0].Before + acts[1].Changes[0].After
		if strings.Contains(all, "secret-") || acts[1].Changes[0].After != "(redacted)" {
			t.Errorf("sensitive content shown: %+v", acts[1])
		}
	})

	t.Run("missing directory is a clear failure", func(t *testing.T) {
		rep := testenv.Run(t, s, doc("File", "nodir")+"  path: /nonexistent/dir/f\n  content: x\n", false)
		if f := testenv.Failure(rep); !strings.Contains(f, "directory /nonexistent/dir does not exist") {
			t.Errorf("failure %q", f)
		}
	})
}
