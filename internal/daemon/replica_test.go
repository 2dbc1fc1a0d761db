package daemon

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/cluster"
)

// Hosts owned elsewhere show their owner's status from etcd; this replica's
// own hosts keep its fresher local status; every host names its owner.
func TestMergeFleet(t *testing.T) {
	now := time.Now()
	cs := &v1alpha1.ControllerStatus{Hosts: []v1alpha1.HostStatus{
		{Name: "a", Address: "10.0.0.1", LastError: "local"},
		{Name: "b", Address: "10.0.0.2"},
		{Name: "c", Address: "10.0.0.3"},
	}}
	remote, _ := json.Marshal(v1alpha1.HostStatus{Name: "b", LastError: "from r2", Failures: 2})
	stale, _ := json.Marshal(v1alpha1.HostStatus{Name: "a", LastError: "old, from r2"})
	f := &cluster.Fleet{
		Members: []cluster.Member{
			{ID: "r2", Since: now, Digest: "d1"}, {ID: "r1", Since: now, Digest: "d1"}, {ID: "r3", Digest: "d9"},
		},
		Generation: &cluster.Generation{Digest: "d1"},
		Owners:     map[string]string{"a": "r1", "b": "r2"},
		Status: map[string]cluster.HostRecord{
			"a": {Host: "a", Replica: "r2", Status: stale},
			"b": {Host: "b", Replica: "r2", Status: remote},
		},
		LeaseTTL: map[string]int64{"r1": 9, "r2": 7},
	}
	mergeFleet(cs, f, "r1")
	a, b, c := cs.Hosts[0], cs.Hosts[1], cs.Hosts[2]
	if a.Replica != "r1" || a.LastError != "local" {
		t.Errorf("own host: %+v", a)
	}
	if b.Replica != "r2" || b.LastError != "from r2" || b.Failures != 2 || b.Address != "10.0.0.2" {
		t.Errorf("host owned by r2: %+v", b)
	}
	if c.Replica != "" {
		t.Errorf("unowned host: %+v", c)
	}
	want := []v1alpha1.ReplicaStatus{
		{ID: "r1", Hosts: 1, Since: now, LeaseTTL: 9, Digest: "d1", InSync: true},
		{ID: "r2", Hosts: 1, Since: now, LeaseTTL: 7, Digest: "d1", InSync: true},
		{ID: "r3", Hosts: 0, Digest: "d9"},
	}
	if len(cs.Replicas) != len(want) {
		t.Fatalf("replicas: %+v", cs.Replicas)
	}
	for i := range want {
		if cs.Replicas[i] != want[i] {
			t.Errorf("replica %d: %+v, want %+v", i, cs.Replicas[i], want[i])
		}
	}
}
