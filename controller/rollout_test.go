package controller

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

func TestParseBatches(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []Size
		err  bool
	}{
		{in: []string{"1,10%,50%,100%"}, want: []Size{{1, false}, {10, true}, {50, true}, {100, true}}},
		{in: []string{"2", " 25% "}, want: []Size{{2, false}, {25, true}}},
		{in: []string{"0"}, err: true},
		{in: []string{"101%"}, err: true},
		{in: []string{"-1"}, err: true},
		{in: []string{"1,,2"}, err: true},
		{in: []string{"ten"}, err: true},
	} {
		got, err := ParseBatches(tc.in)
		if (err != nil) != tc.err || (!tc.err && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("ParseBatches(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		batches string
		hosts   int
		want    []int
	}{
		{"1,3,100%", 9, []int{1, 3, 5}},
		{"1,10%,50%,100%", 10, []int{1, 1, 5, 3}},
		{"2", 5, []int{2, 2, 1}},
		{"10%", 25, []int{3, 3, 3, 3, 3, 3, 3, 3, 1}},
		{"1%", 3, []int{1, 1, 1}},
		{"5", 3, []int{3}},
		{"1", 0, nil},
	} {
		sizes, err := ParseBatches([]string{tc.batches})
		if err != nil {
			t.Fatal(err)
		}
		if got := (&Rollout{Batches: sizes}).Split(tc.hosts); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("batches %s over %d hosts = %v, want %v", tc.batches, tc.hosts, got, tc.want)
		}
	}
	if got := (*Rollout)(nil).Split(4); !reflect.DeepEqual(got, []int{4}) {
		t.Errorf("no rollout = %v, want one batch of every host", got)
	}
}

func TestExceeded(t *testing.T) {
	for _, tc := range []struct {
		maxFail       string
		failed, total int
		want          bool
	}{
		{"1", 1, 10, false},
		{"1", 2, 10, true},
		{"0", 1, 10, true},
		{"0", 0, 10, false},
		{"10%", 1, 10, false},
		{"10%", 2, 10, true},
		{"10%", 1, 9, true}, // 1 of 9 is more than 10%
		{"100%", 10, 10, false},
	} {
		s, err := ParseSize(tc.maxFail)
		if err != nil {
			t.Fatal(err)
		}
		if got := (&Rollout{MaxFail: s}).Exceeded(tc.failed, tc.total); got != tc.want {
			t.Errorf("max-fail %s, %d of %d failed: exceeded=%v, want %v", tc.maxFail, tc.failed, tc.total, got, tc.want)
		}
	}
}

// rolloutFleet is n fake hosts h1..hn; failing ones fail to set the marker.
func rolloutFleet(n int, failing ...string) (fakeFleet, []*v1alpha1.Host) {
	fleet := fakeFleet{}
	var hosts []*v1alpha1.Host
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("h%d", i)
		fleet[name] = &fakeHost{values: map[string]string{}}
		hosts = append(hosts, host(name, nil))
	}
	for _, f := range failing {
		fleet[f].failOn = "m"
	}
	return fleet, hosts
}

func TestRolloutStopsWhenBudgetSpent(t *testing.T) {
	fleet, hosts := rolloutFleet(9, "h3", "h4")
	eng := newEngine(t, fleet)
	sizes, _ := ParseBatches([]string{"1,3,100%"})
	eng.Rollout = &Rollout{Batches: sizes, MaxFail: Size{N: 1}}
	batches := &batchObserver{}
	eng.Observer = batches
	rep, err := eng.Run(context.Background(), hosts, []*v1alpha1.Resource{marker("m", "x", nil)})
	if err != nil {
		t.Fatal(err)
	}
	ro := rep.Rollout
	if !ro.Stopped || ro.Failed != 2 || ro.Reached != 2 || !reflect.DeepEqual(batches.started, []int{1, 2}) {
		t.Fatalf("rollout = %+v, batches started %v; want stopped after batch 2 with 2 failed", ro, batches.started)
	}
	if want := [][]string{{"h1"}, {"h2", "h3", "h4"}, {"h5", "h6", "h7", "h8", "h9"}}; !reflect.DeepEqual(ro.Batches, want) {
		t.Errorf("batches = %v, want %v", ro.Batches, want)
	}
	if want := []string{"h5", "h6", "h7", "h8", "h9"}; !reflect.DeepEqual(ro.Untouched, want) {
		t.Errorf("untouched = %v, want %v", ro.Untouched, want)
	}
	if got := ro.StopMessage(); got != "stopped: 2 of 9 hosts failed (budget 1)" {
		t.Errorf("message %q", got)
	}
	for _, h := range []string{"h1", "h2"} {
		if fleet[h].values["m"] != "x" {
			t.Errorf("%s was not converged", h)
		}
	}
	for _, h := range ro.Untouched {
		// Observed once (read-only), never acted on.
		if fleet[h].batches != 1 || len(fleet[h].values) != 0 {
			t.Errorf("%s: %d batches, values %v; want observed once and untouched", h, fleet[h].batches, fleet[h].values)
		}
	}
	states := map[string]HostState{}
	for _, h := range rep.Hosts {
		states[h.Host] = h.State
	}
	if states["h1"] != HostConverged || states["h3"] != HostFailed || states["h9"] != HostUntouched {
		t.Errorf("states = %v", states)
	}
}

func TestRolloutBatchWithoutBudgetStopsAtFirstFailure(t *testing.T) {
	fleet, hosts := rolloutFleet(4)
	fleet["h1"].down = true
	eng := newEngine(t, fleet)
	eng.Rollout = &Rollout{Batches: []Size{{N: 1}, {N: 100, Percent: true}}}
	rep, err := eng.Run(context.Background(), hosts, []*v1alpha1.Resource{marker("m", "x", nil)})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Rollout.Stopped || rep.Rollout.Failed != 1 || !reflect.DeepEqual(rep.Rollout.Untouched, []string{"h2", "h3", "h4"}) {
		t.Fatalf("rollout = %+v; want the unreachable canary to stop it", rep.Rollout)
	}
	for _, h := range []string{"h2", "h3", "h4"} {
		if len(fleet[h].values) != 0 {
			t.Errorf("%s was acted on", h)
		}
	}
}

func TestRolloutFullBudgetConvergesEveryone(t *testing.T) {
	fleet, hosts := rolloutFleet(5, "h1", "h2")
	eng := newEngine(t, fleet)
	eng.Rollout = &Rollout{Batches: []Size{{N: 2}}, MaxFail: Size{N: 100, Percent: true}}
	rep, err := eng.Run(context.Background(), hosts, []*v1alpha1.Resource{marker("m", "x", nil)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rollout.Stopped || rep.Rollout.Reached != 3 || len(rep.Failed()) != 2 || !rep.Converged {
		t.Fatalf("rollout = %+v, failed %d, converged %v", rep.Rollout, len(rep.Failed()), rep.Converged)
	}
	for _, h := range []string{"h3", "h4", "h5"} {
		if fleet[h].values["m"] != "x" {
			t.Errorf("%s not converged", h)
		}
	}
}

// batchObserver notes the batches that started acting.
type batchObserver struct {
	NopObserver
	started []int
}

func (o *batchObserver) BatchStarted(batch, _ int, _ *Plan) { o.started = append(o.started, batch) }
