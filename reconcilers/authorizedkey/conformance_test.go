package authorizedkey_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/internal/testenv"
	"github.com/optimus-cm/optimus/reconcilers/authorizedkey"
	"github.com/optimus-cm/optimus/reconcilers/user"
	"github.com/optimus-cm/optimus/reconcilertest"
	"github.com/optimus-cm/optimus/test/testhost"
	"github.com/optimus-cm/optimus/transport"
	"golang.org/x/crypto/ssh"
)

var pool = &testhost.Pool{N: 1}

func TestMain(m *testing.M) { testenv.Main(m, pool) }

var (
	keyA = testKey("alice@laptop")
	keyB = testKey("alice@desk")
)

func testKey(comment string) string {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) + " " + comment
}

func TestConformance(t *testing.T) {
	s, h := testenv.Suite(t, pool, authorizedkey.Kind, user.Kind)
	doc := testenv.Header
	reconcilertest.Run(t, s,
		reconcilertest.Case{
			Name: "new user with two keys",
			Present: doc("User", "akuser") + "  shell: /bin/sh\n---\n" +
				doc("AuthorizedKey", "a") + "  user: akuser\n  key: " + keyA + "\n  options: no-port-forwarding,from=\"10.0.0.0/8\"\n---\n" +
				doc("AuthorizedKey", "b") + "  user: akuser\n  key: " + keyB + "\n",
			Absent: doc("AuthorizedKey", "a") + "  user: akuser\n  key: " + keyA + "\n  state: absent\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				got := testenv.Sh(t, conn, "cd ~akuser && stat -c '%a %U' .ssh .ssh/authorized_keys && cat .ssh/authorized_keys")
				want := "700 akuser\n600 akuser\nno-port-forwarding,from=\"10.0.0.0/8\" " + keyA + "\n" + keyB + "\n"
				if got != want {
					t.Errorf("got  %q\nwant %q", got, want)
				}
			},
			Invalid: []string{
				doc("AuthorizedKey", "bad") + "  user: akuser\n  key: not-a-key\n",
				doc("AuthorizedKey", "nouser") + "  key: " + keyA + "\n",
			},
		},
	)
	t.Run("other keys are kept", func(t *testing.T) {
		if got := h.Exec(t, "grep -c . ~akuser/.ssh/authorized_keys; grep -c alice@desk ~akuser/.ssh/authorized_keys"); got != "1\n1\n" {
			t.Errorf("after absent: %q", got)
		}
	})
}
