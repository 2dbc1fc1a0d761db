package hostname

import (
	"context"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// Setting the running name needs CAP_SYS_ADMIN: the command, and the note
// of a host that withholds it, are checked here.
func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name, out, caps string
		script, desc    string // substrings; script "" for no action
		note            string // the note expected, "" for none
	}{
		{name: "converged", out: "web1\n\nweb1\n", caps: "CapEff:\t000001ffffffffff"},
		{name: "both", out: "old\n\nold\n", caps: "CapEff:\t000001ffffffffff", script: "fi\nhostname web1", desc: "set host name web1"},
		{name: "file only", out: "old\n\nweb1\n", caps: "CapEff:\t000001ffffffffff", script: "/etc/hostname"},
		{name: "no file", out: "-\nweb1\n", caps: "CapEff:\t0", script: "/etc/hostname"},
		{name: "running name not settable", out: "web1\n\nold\n", caps: "CapEff:\t00000000a80425fb",
			note: "running name old, not web1: the host withholds CAP_SYS_ADMIN, so only /etc/hostname converges"},
		{name: "noted with the file", out: "old\n\nold\n", caps: "CapEff:\t00000000a80425fb", script: "/etc/hostname",
			desc: "set host name web1", note: "running name old, not web1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &v1alpha1.HostnameSpec{}
			s.Default(&v1alpha1.ObjectMeta{Name: "web1"})
			res := &v1alpha1.Resource{TypeMeta: v1alpha1.TypeMeta{Kind: "Hostname"}, Metadata: v1alpha1.ObjectMeta{Name: "web1"}, Spec: s}
			facts := reconcilers.NewFacts(map[string]transport.Result{"hostname": {Stdout: []byte(tc.out)}, "capabilities": {Stdout: []byte(tc.caps)}})
			acts, err := reconcilers.AsReconciler(Reconciler{}).Plan(context.Background(), reconcilers.Request{Resource: res, Facts: facts})
			if err != nil {
				t.Fatal(err)
			}
			acts, notes := reconcilers.SplitNotes(acts)
			if got := strings.Join(notes, "\n"); (tc.note == "") != (got == "") || !strings.Contains(got, tc.note) {
				t.Errorf("notes %q, want %q", got, tc.note)
			}
			if tc.script == "" {
				if len(acts) != 0 {
					t.Fatalf("want no action, got %+v", acts)
				}
				return
			}
			if len(acts) != 1 || !strings.Contains(acts[0].Script, tc.script) || !strings.Contains(acts[0].Description, tc.desc) {
				t.Fatalf("got %+v", acts)
			}
			if strings.Contains(acts[0].Script, "hostname web1") != strings.Contains(tc.script, "hostname web1") {
				t.Errorf("script %q", acts[0].Script)
			}
		})
	}
}
