package e2e

import (
	"encoding/json"
	"testing"

	"github.com/optimus-cm/optimus/test/testhost"
)

// BenchmarkSeedNoop times a no-op apply of the seed scenario on three real
// hosts (in-process, so without process start) and reports the SSH round
// trips and connections per host.
func BenchmarkSeedNoop(b *testing.B) {
	hosts := testhost.Start(b, 3)
	dir := seedDir(b, hosts)
	if r := run(b, nil, "apply", "-f", dir, "--yes"); r.code != 0 {
		b.Fatalf("first apply: %s", r)
	}
	var rep struct {
		Hosts []struct {
			RoundTrips int
			Connects   int
		}
	}
	b.ResetTimer()
	for b.Loop() {
		r := run(b, nil, "apply", "-f", dir, "--yes", "-o", "json")
		if r.code != 0 {
			b.Fatalf("no-op apply: %s", r)
		}
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			b.Fatal(err)
		}
	}
	rt, cn := 0, 0
	for _, h := range rep.Hosts {
		rt += h.RoundTrips
		cn += h.Connects
	}
	b.ReportMetric(float64(rt)/float64(len(rep.Hosts)), "roundtrips/host")
	b.ReportMetric(float64(cn)/float64(len(rep.Hosts)), "connects/host")
}
