package daemon

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// TestEncodeStatusMatchesEncodingJSON: the state file, written one host and
// one resource at a time, reads back as the document encoding/json makes.
func TestEncodeStatusMatchesEncodingJSON(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	next := now.Add(time.Minute)
	full := &v1alpha1.ControllerStatus{
		Conditions: []v1alpha1.Condition{{Type: v1alpha1.ConditionReady, Status: v1alpha1.ConditionTrue, Reason: "PassCompleted", LastTransitionTime: now}},
		Hosts: []v1alpha1.HostStatus{
			{Name: "web1", Address: "10.0.0.1", Resources: 2, Failures: 0, LastRun: &v1alpha1.RunSummary{Start: now, Duration: time.Second, Cycles: 1, Result: "converged"}},
			{Name: "web2", Failures: 3, NextRetry: &next, LastError: "connect: \"refused\" <here>"},
		},
		Resources: []v1alpha1.ResourceStatus{
			{Kind: "File", Name: "motd", ObservedGeneration: "abc", Hosts: []v1alpha1.ResourceHostState{{Host: "web1", State: "Converged"}, {Host: "web2", State: "Failed", Message: "no\nway"}}},
			{Kind: "User", Name: "bob"},
		},
		UpdatedAt: now,
		Version:   &v1alpha1.BuildInfo{Version: "v1.2.3", Revision: "eda5333", BuildDate: "2026-01-01T00:00:00Z", GoVersion: "go1.26.8", Platform: "linux/amd64"},
	}
	for name, st := range map[string]*v1alpha1.ControllerStatus{"full": full, "empty": {}, "no hosts": {Hosts: []v1alpha1.HostStatus{}, UpdatedAt: now}} {
		var streamed bytes.Buffer
		if err := encodeStatus(&streamed, st); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		whole, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		var got, want any
		if err := json.Unmarshal(streamed.Bytes(), &got); err != nil {
			t.Fatalf("%s: streamed status is not JSON: %v\n%s", name, err, streamed.String())
		}
		if err := json.Unmarshal(whole, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: streamed\n%s\nwant the same as\n%s", name, streamed.String(), whole)
		}
	}
}

func TestSaveAndLoadStatus(t *testing.T) {
	dir := t.TempDir()
	st := &v1alpha1.ControllerStatus{Hosts: []v1alpha1.HostStatus{{Name: "web1", Failures: 2}}, UpdatedAt: time.Now().UTC().Round(0)}
	if err := saveStatus(dir, st); err != nil {
		t.Fatal(err)
	}
	got, err := LoadStatus(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Hosts) != 1 || got.Hosts[0].Name != "web1" || got.Hosts[0].Failures != 2 || !got.UpdatedAt.Equal(st.UpdatedAt) {
		t.Errorf("loaded %+v, saved %+v", got, st)
	}
}
