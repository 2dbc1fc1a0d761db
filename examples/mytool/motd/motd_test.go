package motd_test

import (
	"strings"
	"testing"

	"github.com/optimus-cm/optimus"
	"github.com/optimus-cm/optimus/reconcilertest"
	"github.com/optimus-cm/optimus/test/testhost"
	"github.com/optimus-cm/optimus/transport"

	"example.com/mytool/motd"
)

// TestConformance proves the Motd reconciler against a real host with the
// same suite the built-in kinds pass.
func TestConformance(t *testing.T) {
	h := testhost.Start(t, 1)[0]
	cfg, err := optimus.Config(optimus.WithKinds(motd.Kind))
	if err != nil {
		t.Fatal(err)
	}
	doc := "apiVersion: mytool.example.com/v1\nkind: Motd\nmetadata: {name: welcome}\nspec:\n"
	reconcilertest.Run(t, reconcilertest.Suite{Scheme: cfg.Scheme, Registry: cfg.Registry, Host: h.Resource()},
		reconcilertest.Case{
			Name:    "message",
			Present: doc + "  message: Welcome to {{not a template}}\n  path: /etc/motd.d-test\n",
			Verify: func(t *testing.T, conn transport.Conn) {
				r, err := transport.Run(t.Context(), conn, "cat /etc/motd.d-test; stat -c %a /etc/motd.d-test")
				if err != nil || !strings.HasPrefix(string(r.Stdout), "Welcome to {{not a template}}\n644") {
					t.Errorf("motd = %q %v", r.Stdout, err)
				}
			},
			Invalid: []string{doc + "  message: hi\n  path: etc/motd\n", doc + "  path: /etc/motd\n", doc + "  mesage: typo\n"},
		})
}
