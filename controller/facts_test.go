package controller

import (
	"context"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// factsHost answers the facts query with an os-release of osID and passes
// every other command to the fake host.
type factsHost struct {
	*fakeHost
	osID         string
	factsQueries int
}

func (h *factsHost) Batch(ctx context.Context, cmds []transport.Command) ([]transport.Result, error) {
	var rest []transport.Command
	var at []int
	res := make([]transport.Result, len(cmds))
	for i, c := range cmds {
		if c.Script == reconcilers.QueryFacts.Script {
			h.factsQueries++
			res[i].Stdout = []byte("@os-release\nID=" + h.osID + "\n@uname\nh 6.1 x86_64\n")
			continue
		}
		rest, at = append(rest, c), append(at, i)
	}
	if len(rest) > 0 {
		got, err := h.fakeHost.Batch(ctx, rest)
		if err != nil {
			return nil, err
		}
		for j, i := range at {
			res[i] = got[j]
		}
	}
	return res, nil
}

// A resource selecting hosts by a fact is planned only where the host's
// facts, read with the other queries of the cycle, match.
func TestMatchFactsSelectsAfterObserving(t *testing.T) {
	deb := &factsHost{fakeHost: &fakeHost{values: map[string]string{}}, osID: "debian"}
	alp := &factsHost{fakeHost: &fakeHost{values: map[string]string{}}, osID: "alpine"}
	conns := map[string]*factsHost{"deb": deb, "alp": alp}
	reg, err := reconcilers.NewRegistry(markerReconciler{})
	if err != nil {
		t.Fatal(err)
	}
	eng := &Engine{Registry: reg, Dial: func(_ context.Context, h *v1alpha1.Host) (transport.Conn, error) { return conns[h.Metadata.Name], nil }}
	onDebian := marker("apt-only", "x", nil)
	onDebian.Spec.(*markerSpec).HostSelector = &v1alpha1.LabelSelector{MatchFacts: map[string]string{"os.id": "debian"}}
	rep, err := eng.Run(context.Background(), []*v1alpha1.Host{host("deb", nil), host("alp", nil)}, []*v1alpha1.Resource{onDebian, marker("all", "y", nil)})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Converged {
		t.Fatalf("not converged: %+v", rep.Hosts)
	}
	if deb.values["apt-only"] != "x" || deb.values["all"] != "y" || alp.values["all"] != "y" || len(alp.values) != 1 {
		t.Errorf("debian %v, alpine %v", deb.values, alp.values)
	}
	for _, h := range rep.Hosts {
		if h.RoundTrips != 3 {
			t.Errorf("%s: %d round trips, want 3: the facts are read with the other queries", h.Host, h.RoundTrips)
		}
	}
	if deb.factsQueries != 2 {
		t.Errorf("facts read %d times in 2 cycles, want once per cycle", deb.factsQueries)
	}
}
