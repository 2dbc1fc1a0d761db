package mount

import (
	"context"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// capable and unprivileged are CapEff lines with and without CAP_SYS_ADMIN.
const (
	capable      = "CapEff:\t000001ffffffffff\n"
	unprivileged = "CapEff:\t00000000a80425fb\n"
)

// The privileged paths (mount, umount, remount) run in the e2e tests on a
// host with CAP_SYS_ADMIN; their commands and the notes of an unprivileged
// host are checked here.
func TestPlan(t *testing.T) {
	const fstab = "# comment\nproc /proc proc defaults 0 0\ntmpfs /srv/cache tmpfs size=16m 0 0\n"
	const mounted = "@@optimus-mounts\ntmpfs /srv/cache tmpfs rw,size=16384k 0 0\n"
	cache := v1alpha1.MountSpec{Path: "/srv/cache", Source: "tmpfs", FSType: "tmpfs", Options: "size=16m"}
	for _, tc := range []struct {
		name        string
		spec        v1alpha1.MountSpec
		out, caps   string
		want, avoid []string // substrings the script must (not) contain; want nil: no action
		note        string   // the note expected, "" for none
	}{
		{name: "converged", spec: cache, out: fstab + mounted, caps: capable},
		{name: "mount", spec: cache, out: fstab + "@@optimus-mounts\n", caps: capable,
			want: []string{"mkdir -p -- /srv/cache || exit\nmount -- /srv/cache"}, avoid: []string{"awk"}},
		{name: "cannot mount", spec: cache, out: fstab + "@@optimus-mounts\n", caps: unprivileged,
			note: "cannot mount /srv/cache: the host withholds CAP_SYS_ADMIN, so only /etc/fstab converges"},
		{name: "new options remount", spec: withOptions(cache, "size=32m"), out: fstab + mounted, caps: capable,
			want: []string{"awk", "f=/etc/fstab", "mount -o remount -- /srv/cache"}},
		{name: "cannot remount", spec: withOptions(cache, "size=32m"), out: fstab + mounted, caps: unprivileged,
			want: []string{"awk"}, avoid: []string{"mount -o"}, note: "cannot remount /srv/cache"},
		{name: "unmounted", spec: withState(cache, "unmounted"), out: fstab + mounted, caps: capable, want: []string{"umount -- /srv/cache"}, avoid: []string{"awk"}},
		{name: "absent", spec: withState(cache, "absent"), out: fstab + mounted, caps: capable, want: []string{"umount -- /srv/cache || exit\np=/srv/cache"}},
		{name: "absent unprivileged edits fstab only", spec: withState(cache, "absent"), out: fstab + mounted, caps: unprivileged,
			want: []string{"awk"}, avoid: []string{"umount"}, note: "cannot umount /srv/cache"},
		{name: "present leaves mounted alone", spec: withState(cache, "present"), out: fstab + "@@optimus-mounts\n", caps: capable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			s.Default(nil)
			res := &v1alpha1.Resource{TypeMeta: v1alpha1.TypeMeta{Kind: "Mount"}, Metadata: v1alpha1.ObjectMeta{Name: "cache"}, Spec: &s}
			facts := reconcilers.NewFacts(map[string]transport.Result{"mounts": {Stdout: []byte(tc.out)}, "capabilities": {Stdout: []byte(tc.caps)}})
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
			if len(acts) != 1 {
				t.Fatalf("want 1 action, got %+v", acts)
			}
			for _, w := range tc.want {
				if !strings.Contains(acts[0].Script, w) {
					t.Errorf("script lacks %q:\n%s", w, acts[0].Script)
				}
			}
			for _, a := range tc.avoid {
				if strings.Contains(acts[0].Script, a) {
					t.Errorf("script has %q:\n%s", a, acts[0].Script)
				}
			}
		})
	}
}

func withOptions(s v1alpha1.MountSpec, o string) v1alpha1.MountSpec { s.Options = o; return s }
func withState(s v1alpha1.MountSpec, st string) v1alpha1.MountSpec  { s.State = st; return s }

func TestEscape(t *testing.T) {
	for _, p := range []string{"/srv/a b", "/srv/tab\there", `/srv/back\slash`} {
		if got := unescape(escape(p)); got != p || strings.ContainsAny(escape(p), " \t") {
			t.Errorf("%q: escaped %q, back %q", p, escape(p), got)
		}
	}
}
