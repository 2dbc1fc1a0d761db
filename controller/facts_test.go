package controller

import (
	"context"
	"maps"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// factsHost answers the facts query with an os-release of osID and passes
// every other command to the fake host.
type factsHost struct {
	*fakeHost
	osID, version string
	factsQueries  int
}

func (h *factsHost) Batch(ctx context.Context, cmds []transport.Command) ([]transport.Result, error) {
	var rest []transport.Command
	var at []int
	res := make([]transport.Result, len(cmds))
	for i, c := range cmds {
		if c.Script == reconcilers.QueryFacts.Script {
			h.factsQueries++
			res[i].Stdout = []byte("@os-release\nID=" + h.osID + "\nVERSION_ID=" + h.version + "\n@uname\nh 6.1 x86_64\n")
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

// Conditions on facts (a version comparison) are decided once the host is
// observed, conditions on variables before; a resource that reads
// variables reaches each host as that host's own variant.
func TestFactAndVarConditionsAndVariants(t *testing.T) {
	old := &factsHost{fakeHost: &fakeHost{values: map[string]string{}}, osID: "debian", version: "11"}
	cur := &factsHost{fakeHost: &fakeHost{values: map[string]string{}}, osID: "debian", version: "12.5"}
	conns := map[string]*factsHost{"old": old, "cur": cur}
	reg, err := reconcilers.NewRegistry(markerReconciler{})
	if err != nil {
		t.Fatal(err)
	}
	eng := &Engine{Registry: reg, Dial: func(_ context.Context, h *v1alpha1.Host) (transport.Conn, error) { return conns[h.Metadata.Name], nil }}
	recent := marker("recent", "x", nil)
	recent.Spec.(*markerSpec).HostSelector = &v1alpha1.LabelSelector{MatchFactExpressions: []v1alpha1.HostRequirement{
		{Key: "os.versionId", Operator: v1alpha1.SelectorGe, Values: []string{"12"}}}}
	flagged := marker("flagged", "f", nil)
	flagged.Spec.(*markerSpec).HostSelector = &v1alpha1.LabelSelector{MatchVarExpressions: []v1alpha1.HostRequirement{
		{Key: "flag", Operator: v1alpha1.SelectorExists}}}
	perHost := marker("per-host", "${vars.v}", nil)
	perHost.SetVariant("old", marker("per-host", "for-old", nil))
	perHost.SetVariant("cur", marker("per-host", "for-cur", nil))
	hOld, hCur := host("old", nil), host("cur", nil)
	hOld.Spec.Vars = map[string]any{"flag": true}
	rep, err := eng.Run(context.Background(), []*v1alpha1.Host{hOld, hCur}, []*v1alpha1.Resource{recent, flagged, perHost})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Converged {
		t.Fatalf("not converged: %+v", rep.Hosts)
	}
	wantOld := map[string]string{"flagged": "f", "per-host": "for-old"}
	wantCur := map[string]string{"recent": "x", "per-host": "for-cur"}
	if !maps.Equal(old.values, wantOld) || !maps.Equal(cur.values, wantCur) {
		t.Errorf("debian 11 %v, want %v; debian 12.5 %v, want %v", old.values, wantOld, cur.values, wantCur)
	}
}
