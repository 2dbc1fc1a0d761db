package sysctl

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// A writable /proc/sys (not in the test containers) is set with sysctl -w.
func TestPlan(t *testing.T) {
	res := &v1alpha1.Resource{TypeMeta: v1alpha1.TypeMeta{Kind: "Sysctl"}, Metadata: v1alpha1.ObjectMeta{Name: "fwd"}}
	s := &v1alpha1.SysctlSpec{Name: "net.ipv4.ip_forward", Value: "1"}
	s.Default(&res.Metadata)
	res.Spec = s
	file := base64.StdEncoding.EncodeToString([]byte(Content(res, s)))
	for _, tc := range []struct {
		name, line string
		want       []string // substrings of the script; nil: no action
		note       string   // the note expected, "" for none
	}{
		{name: "converged", line: "net.ipv4.ip_forward\t" + file + "\t1\tw"},
		{name: "live only", line: "net.ipv4.ip_forward\t" + file + "\t0\tw", want: []string{"sysctl -q -w 'net.ipv4.ip_forward=1'"}},
		{name: "both", line: "net.ipv4.ip_forward\t-\t0\tw", want: []string{"f=/etc/sysctl.d/90-optimus-net.ipv4.ip_forward.conf", "|| exit 1\nsysctl -q -w"}},
		{name: "read-only live", line: "net.ipv4.ip_forward\t" + file + "\t0\tr",
			note: "live value 0, not 1: /proc/sys is read-only here, so only the persisted value converges"},
		{name: "read-only live, file written", line: "net.ipv4.ip_forward\t-\t0\tr",
			want: []string{"f=/etc/sysctl.d/90-optimus-net.ipv4.ip_forward.conf"}, note: "live value 0, not 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			facts := reconcilers.NewFacts(map[string]transport.Result{"sysctl": {Stdout: []byte(tc.line + "\n")}})
			acts, err := reconcilers.AsReconciler(Reconciler{}).Plan(context.Background(), reconcilers.Request{Resource: res, Facts: facts})
			if err != nil {
				t.Fatal(err)
			}
			acts, notes := reconcilers.SplitNotes(acts)
			if got := strings.Join(notes, "\n"); (tc.note == "") != (got == "") || !strings.Contains(got, tc.note) {
				t.Errorf("notes %q, want %q", got, tc.note)
			}
			if tc.want == nil {
				if len(acts) != 0 {
					t.Fatalf("want no action, got %+v", acts)
				}
				return
			}
			for _, w := range tc.want {
				if len(acts) != 1 || !strings.Contains(acts[0].Script, w) {
					t.Fatalf("script lacks %q: %+v", w, acts)
				}
			}
		})
	}
}
