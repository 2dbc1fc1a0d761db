package controller

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

func TestInventoryRoundTrip(t *testing.T) {
	inv := newInventory()
	for _, e := range []invEntry{
		{Ref: v1alpha1.ResourceRef{Kind: "Directory", Name: "d"}, Spec: json.RawMessage(`{"path":"/srv/d"}`)},
		{Ref: v1alpha1.ResourceRef{Kind: "User", Name: "alice"}, Adopted: true, Spec: json.RawMessage(`{"name":"alice"}`)},
	} {
		inv.byRef[e.Ref] = len(inv.entries)
		inv.entries = append(inv.entries, e)
	}
	svc := v1alpha1.ResourceRef{Kind: "Service", Name: "web"}
	text := string(inv.format([]v1alpha1.ResourceRef{svc}))
	got, err := parseInventory(InventoryPath("s", "h"), text)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.entries) != 2 || got.entries[0].Ref.Kind != "Directory" || !got.entries[1].Adopted || got.entries[0].Adopted ||
		string(got.entries[0].Spec) != `{"path":"/srv/d"}` || !got.pending[svc] {
		t.Fatalf("round trip of\n%s\ngave %+v", text, got)
	}
	if _, err := parseInventory(InventoryPath("s", "h"), "resource\tUser\n"); err == nil || !strings.Contains(err.Error(), "/var/lib/optimus/s@h.inventory line 1") {
		t.Fatalf("a torn line: %v", err)
	}
	if got, err := parseInventory(InventoryPath("s", "h"), ""); err != nil || len(got.entries) != 0 {
		t.Fatalf("no file: %v %+v", err, got)
	}
	// A field too many is as wrong as one too few, on whichever line.
	for _, bad := range []string{"resource\tUser\tu\tmanaged\t{}\textra\n", "# header\n\npending\tService\tweb\tmore\n"} {
		line := strings.Count(bad, "\n")
		if _, err := parseInventory(InventoryPath("s", "h"), bad); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("s@h.inventory line %d", line)) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestRecordSpec(t *testing.T) {
	content := "secret-ish content"
	tests := []struct {
		name string
		spec any
		want string // "" when the set does not hold the resource
	}{
		{"file keeps its path, not its content", &v1alpha1.FileSpec{Path: "/etc/x", Content: &content, Mode: "0644", State: "present",
			Targeting: v1alpha1.Targeting{HostSelector: &v1alpha1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}}},
			`{"mode":"0644","path":"/etc/x"}`},
		{"user keeps names, not its secret source", &v1alpha1.UserSpec{Name: "bob", Groups: []string{"sudo"}, State: "present",
			PasswordHashFrom: &v1alpha1.SecretSource{Env: "H"}}, `{"groups":["sudo"],"name":"bob"}`},
		{"declared absent is not held", &v1alpha1.DirectorySpec{Path: "/d", State: v1alpha1.StateAbsent}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, held := recordSpec(&v1alpha1.Resource{Spec: tt.spec})
			if tt.want == "" {
				if held {
					t.Fatalf("held: %s", got)
				}
				return
			}
			if !held || string(got) != tt.want {
				t.Fatalf("got %s (held %v), want %s", got, held, tt.want)
			}
		})
	}
}

func TestSchemeAbsent(t *testing.T) {
	scheme, err := v1alpha1.NewScheme(v1alpha1.BuiltinKinds()...)
	if err != nil {
		t.Fatal(err)
	}
	absent := SchemeAbsent(scheme)
	res, ok := absent("User", "bob", json.RawMessage(`{"name":"bob","shell":"/bin/sh"}`))
	if !ok {
		t.Fatal("User has an absent state")
	}
	if u := res.Spec.(*v1alpha1.UserSpec); u.State != v1alpha1.StateAbsent || u.Name != "bob" || res.Ref() != (v1alpha1.ResourceRef{Kind: "User", Name: "bob"}) {
		t.Fatalf("absent user: %+v", u)
	}
	for kind, spec := range map[string]string{
		"Exec":    `{"command":"true"}`,
		"Service": `{"name":"web"}`,
		"Nope":    `{}`,
	} {
		if _, ok := absent(kind, "x", json.RawMessage(spec)); ok {
			t.Errorf("%s has no absent state", kind)
		}
	}
}

func TestCheckSetName(t *testing.T) {
	for _, ok := range []string{"web", "fleet_1", "a.b-c"} {
		if err := CheckSetName(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".hidden", "-x", "a/b", "..", "a b", strings.Repeat("x", 101)} {
		if CheckSetName(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestWithInventory checks the act batch around the actions: the write
// first and every action after it; the pruned line dropped after the
// removal; the pending restart cleared by the restart itself.
func TestWithInventory(t *testing.T) {
	svc := v1alpha1.ResourceRef{Kind: "Service", Name: "web"}
	file := v1alpha1.ResourceRef{Kind: "File", Name: "conf"}
	gone := v1alpha1.ResourceRef{Kind: "User", Name: "old"}
	r := &hostRun{
		host: &v1alpha1.Host{Metadata: v1alpha1.ObjectMeta{Name: "h"}},
		resources: []*v1alpha1.Resource{
			{TypeMeta: v1alpha1.TypeMeta{Kind: "File"}, Metadata: v1alpha1.ObjectMeta{Name: "conf"}, Spec: &v1alpha1.FileSpec{Path: "/etc/conf"}},
			{TypeMeta: v1alpha1.TypeMeta{Kind: "Service"}, Metadata: v1alpha1.ObjectMeta{Name: "web"}, Spec: &v1alpha1.ServiceSpec{Name: "web"}},
		},
		inv: (&Inventory{Set: "s"}).forHost("h"),
		plan: []PlannedAction{
			{Resource: gone, Status: StatusPlanned, Pruned: true, Action: reconcilers.Action{Op: reconcilers.OpDelete, Script: "userdel old"}},
			{Resource: file, Status: StatusPlanned, Action: reconcilers.Action{Op: reconcilers.OpCreate, Script: "write"}},
			{Resource: svc, Status: StatusPlanned, refresh: true, Action: reconcilers.Action{Op: reconcilers.OpRestart, Script: "restart"}},
		},
	}
	r.inv.file = newInventory()
	r.inv.file.entries = []invEntry{{Ref: gone, Spec: json.RawMessage(`{"name":"old"}`)}}
	r.inv.file.byRef[gone] = 0
	cmds := []transport.Command{{Script: "userdel old"}, {Script: "write"}, {Script: "restart", After: []int{1}}}
	out, slot, post := withInventory(r, cmds, []int{0, 1, 2})
	if post != 1 || len(out) != 5 {
		t.Fatalf("%d commands, %d post", len(out), post)
	}
	if !strings.Contains(out[0].Script, "/var/lib/optimus/s@h.inventory") || slot[0] != 1 || slot[2] != 3 {
		t.Fatalf("write first: %q, slots %v", out[0].Script, slot)
	}
	written := string(out[0].Stdin)
	for _, want := range []string{"resource\tFile\tconf\tmanaged\t{\"path\":\"/etc/conf\"}\n", "resource\tUser\told\tmanaged\t", "pending\tService\tweb\n"} {
		if !strings.Contains(written, want) {
			t.Errorf("the inventory written lacks %q:\n%s", want, written)
		}
	}
	if got := out[3].After; len(got) != 2 || got[0] != 0 || got[1] != 2 {
		t.Errorf("the restart runs after %v, want the write and the file", got)
	}
	if !strings.Contains(out[4].Script, "T=resource ") || !strings.Contains(out[4].Script, "N=old ") || len(out[4].After) != 1 || out[4].After[0] != 1 {
		t.Errorf("pruned line dropped by %q after %v", out[4].Script, out[4].After)
	}
	// The restart clears its own pending line as it starts, and puts it
	// back if it fails: a restart that cuts its own connection is not owed
	// again.
	restart := out[3].Script
	if clear, run := strings.Index(restart, "T=pending "), strings.Index(restart, "(eval restart"); clear < 0 || run < clear || !strings.Contains(restart, `printf 'pending\t%s\t%s\n' Service web >>"$f"`) {
		t.Errorf("the restart does not clear its pending line first and restore it on failure:\n%s", restart)
	}
}

func TestCompareObservations(t *testing.T) {
	runs := []*hostRun{
		{host: &v1alpha1.Host{Metadata: v1alpha1.ObjectMeta{Name: "a"}}},
		{host: &v1alpha1.Host{Metadata: v1alpha1.ObjectMeta{Name: "b"}}},
		{host: &v1alpha1.Host{Metadata: v1alpha1.ObjectMeta{Name: "c"}}, quarantine: errors.New("dial: refused")},
	}
	want := []Observation{
		{Host: "a", Digest: "1", Resources: map[string]string{"File/x": "f1"}},
		{Host: "b", Digest: "2", Resources: map[string]string{"User/u": "u1"}},
		{Host: "c", Digest: "3"},
	}
	same := []Observation{want[0], want[1]}
	err := compareObservations(want, same, runs)
	var stale *PlanStaleError
	if !errors.As(err, &stale) || len(stale.Changed) != 1 || stale.Changed[0].Host != "c" || !strings.Contains(err.Error(), "c: could not be observed: dial: refused") {
		t.Fatalf("unreachable host: %v", err)
	}
	got := []Observation{
		{Host: "a", Digest: "1x", Resources: map[string]string{"File/x": "f2", "File/y": "y"}},
		{Host: "b", Digest: "2", Resources: map[string]string{"User/u": "u1"}},
	}
	err = compareObservations(want[:2], got, runs[:2])
	if !errors.As(err, &stale) || len(stale.Changed) != 1 || !strings.Contains(err.Error(), "a: File/x, File/y") {
		t.Fatalf("changed resources: %v", err)
	}
	if err := compareObservations(want[:2], want[:2], runs[:2]); err != nil {
		t.Fatalf("same observation: %v", err)
	}
}

func TestIdentities(t *testing.T) {
	got := identities("File", json.RawMessage(`{"path":"/etc/x","mode":"0644"}`))
	if len(got) != 1 || got[0] != "File\x00path\x00/etc/x" {
		t.Fatalf("File: %q", got)
	}
	if got := identities("User", json.RawMessage(`{"name":"bob","groups":["a"]}`)); len(got) != 1 || got[0] != "User\x00name\x00bob" {
		t.Fatalf("User: %q", got)
	}
	if got := identities("Exec", json.RawMessage(`{"command":"true"}`)); len(got) != 0 {
		t.Fatalf("Exec: %q", got)
	}
}

// The wrapped refresh, run by a real shell: the pending line goes when the
// refresh starts, and comes back when it fails.
func TestClearingPendingRunsInAShell(t *testing.T) {
	svc := v1alpha1.ResourceRef{Kind: "Service", Name: "web"}
	for _, tc := range []struct {
		script string
		code   int
		want   string
	}{
		{"grep -c pending \"$INV\"; true", 0, "resource\tFile\tconf\tmanaged\t{}\n"},
		{"echo broken >&2; exit 3", 3, "resource\tFile\tconf\tmanaged\t{}\npending\tService\tweb\n"},
	} {
		path := filepath.Join(t.TempDir(), "s@h.inventory")
		if err := os.WriteFile(path, []byte("resource\tFile\tconf\tmanaged\t{}\npending\tService\tweb\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sh", "-c", clearingPending(path, svc, tc.script))
		cmd.Env = append(os.Environ(), "INV="+path)
		out, err := cmd.Output()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		if code != tc.code || string(got) != tc.want {
			t.Errorf("%q: exit %d, inventory %q; want exit %d, %q", tc.script, code, got, tc.code, tc.want)
		}
		if tc.code == 0 && strings.TrimSpace(string(out)) != "0" {
			t.Errorf("the line was still there while the refresh ran: %q", out)
		}
	}
}
