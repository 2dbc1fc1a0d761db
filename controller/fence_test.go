package controller

import (
	"context"
	"errors"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// A refused fence skips every planned action of the host and fails it with
// the fence's error; an accepted one lets the act run.
func TestFenceRefusesAct(t *testing.T) {
	errStale := errors.New("ownership gone")
	fleet := fakeFleet{"a": {values: map[string]string{}}, "b": {values: map[string]string{}}}
	eng := newEngine(t, fleet)
	var asked []string
	eng.Parallel = 1
	eng.Fence = func(_ context.Context, host string) ([]EnvVar, error) {
		asked = append(asked, host)
		if host == "a" {
			return nil, errStale
		}
		return nil, nil
	}
	rep, err := eng.Run(context.Background(), []*v1alpha1.Host{host("a", nil), host("b", nil)}, []*v1alpha1.Resource{marker("m", "1", nil)})
	if err != nil {
		t.Fatal(err)
	}
	if len(fleet["a"].values) != 0 {
		t.Fatalf("a fenced host was changed: %v", fleet["a"].values)
	}
	if fleet["b"].values["m"] != "1" {
		t.Fatalf("the host that passed its fence was not changed: %v", fleet["b"].values)
	}
	for _, h := range rep.Hosts {
		if h.Host == "a" && (h.State != HostFailed || !errors.Is(h.Err, errStale)) {
			t.Errorf("fenced host: state %s err %v", h.State, h.Err)
		}
	}
	for _, hp := range rep.Plans[0].Hosts {
		for _, a := range hp.Actions {
			if hp.Host == "a" && (a.Status != StatusSkipped || !errors.Is(a.Err, errStale)) {
				t.Errorf("fenced action %s: %s %v", a.Description, a.Status, a.Err)
			}
		}
	}
	if len(asked) < 2 {
		t.Errorf("fence asked for %v", asked)
	}
}
