package fleetsim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/test/testhost"
)

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// StartTest brings up a fleet of n simulated hosts in one container for one
// test and removes it when the test ends (or, if the test binary is killed,
// when the next test host starts: the container carries its PID). Its ports
// are a free range chosen at random, so that tests of several processes can
// run side by side.
func StartTest(t testing.TB, n int) *Fleet {
	t.Helper()
	testhost.RequireDocker(t)
	name := strings.ToLower(strings.Trim(unsafeName.ReplaceAllString(t.Name(), "-"), "-."))
	prefix := fmt.Sprintf("optimus-test-%d-fleetsim-%.40s", os.Getpid(), name)
	t.Cleanup(func() {
		if err := Down(context.Background(), prefix); err != nil {
			t.Errorf("remove the simulated fleet: %v", err)
		}
	})
	var lastErr error
	for range 5 {
		base := 10000 + rand.IntN(20000-n)
		if lastErr = portsFree(base, n); lastErr != nil {
			continue
		}
		f, err := Start(context.Background(), Options{
			Hosts: n, Containers: (n + MaxHostsPerContainer - 1) / MaxHostsPerContainer,
			Prefix: prefix, BasePort: base, Dir: t.TempDir(),
		})
		if err != nil {
			t.Fatalf("start a simulated fleet of %d hosts: %v", n, err)
		}
		return f
	}
	t.Fatalf("no free range of %d ports for a simulated fleet: %v", n, lastErr)
	return nil
}
