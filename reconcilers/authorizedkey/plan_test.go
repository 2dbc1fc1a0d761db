package authorizedkey

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/testenv"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

const (
	key   = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== me@x"
	other = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB you@y"
)

func TestPlan(t *testing.T) {
	// entry is a find record as the query prints it; st is "mode/owner" or
	// "symlink"/"fifo" (empty: missing).
	entry := func(p, typ string, mode uint32, owner string) string {
		uid := 0
		if owner != "root" {
			uid = 1000
		}
		target := ""
		if typ == "l" {
			target = "/etc/sudoers.d"
		}
		return fmt.Sprintf("%s\x00%o\x00%d\x00%d\x00%s\x00%s\x00%d\x00%s\x00%s\x00%d\x00%s\x00%s\x00", p, mode, uid, uid, owner, owner, 0, typ, target, 1, "fe00", "0")
	}
	parse := func(st string) (typ string, mode uint32, owner string) {
		switch st {
		case "symlink":
			return "l", 0o777, "alice"
		case "fifo":
			return "p", 0o644, "alice"
		}
		m, o, _ := strings.Cut(st, "/")
		v, _ := strconv.ParseUint(m, 8, 32)
		return "", uint32(v), o
	}
	record := func(state, dir, file, content string) []byte {
		if state != "ok" {
			return []byte("alice\x00" + state + "\x00")
		}
		r := "alice\x00ok\x00/home/alice\x00" + entry("/", "d", 0o755, "root") + entry("/home", "d", 0o755, "root") +
			entry("/home/alice", "d", 0o750, "alice")
		if dir != "" {
			typ, mode, owner := parse(dir)
			r += entry("/home/alice/.ssh", cmp.Or(typ, "d"), mode, owner)
		}
		if file != "" {
			typ, mode, owner := parse(file)
			r += entry("/home/alice/.ssh/authorized_keys", cmp.Or(typ, "f"), mode, owner)
		}
		if strings.HasPrefix(content, "!") { // the query's mark of a file too large to read
			return []byte(r + "END\x00" + content + "\x00")
		}
		return []byte(r + "END\x00" + base64.StdEncoding.EncodeToString([]byte(content)) + "\x00")
	}
	for _, tc := range []struct {
		name, state, options string
		facts                []byte
		op                   reconcilers.Op // "" for no action
		wantErr              string
	}{
		{name: "~/.ssh planted as a link", state: "present", facts: record("ok", "symlink", "", ""),
			wantErr: "/home/alice/.ssh is a symbolic link to /etc/sudoers.d owned by alice; refusing to follow it"},
		{name: "FIFO planted", state: "present", facts: record("ok", "700/alice", "fifo", ""),
			wantErr: "/home/alice/.ssh/authorized_keys is a special file, not a regular file; refusing to touch it"},
		{name: "too large to read", state: "present", facts: record("ok", "700/alice", "600/alice", "!314572800"),
			wantErr: "/home/alice/.ssh/authorized_keys is 300 MiB, more than the 1 MiB Optimus reads; it is left as it is: shrink it or remove it on the host (it belongs to alice)"},
		{name: "grew past the limit after stat", state: "absent", facts: record("ok", "700/alice", "600/alice", strings.Repeat(key+"\n", reconcilers.ReadLimit/len(key))),
			wantErr: "/home/alice/.ssh/authorized_keys is larger than the 1 MiB Optimus reads; it is left as it is: shrink it or remove it on the host (it belongs to alice)"},
		{"converged", "present", "", record("ok", "700/alice", "600/alice", other+"\n"+key+"\n"), "", ""},
		{"add", "present", "", record("ok", "700/alice", "600/alice", other+"\n"), reconcilers.OpCreate, ""},
		{"no file yet", "present", "", record("ok", "", "", ""), reconcilers.OpCreate, ""},
		{"user created later", "present", "", record("nouser", "", "", ""), reconcilers.OpCreate, ""},
		{"options changed", "present", "no-pty", record("ok", "700/alice", "600/alice", key+"\n"), reconcilers.OpUpdate, ""},
		{"modes", "present", "", record("ok", "755/alice", "644/root", key+"\n"), reconcilers.OpUpdate, ""},
		{"remove", "absent", "", record("ok", "700/alice", "600/alice", "no-pty "+key+"\n"+other+"\n"), reconcilers.OpDelete, ""},
		{"remove missing", "absent", "", record("ok", "700/alice", "600/alice", other+"\n"), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &v1alpha1.AuthorizedKeySpec{User: "alice", Key: key, Options: tc.options, State: tc.state}
			res := &v1alpha1.Resource{Metadata: v1alpha1.ObjectMeta{Name: "k"}, Spec: s}
			facts := reconcilers.NewFacts(map[string]transport.Result{KeyPrefix + "x": transport.Result{Stdout: tc.facts}})
			actions, err := reconcilers.AsReconciler(Reconciler{}).Plan(context.Background(), reconcilers.Request{Resource: res, Facts: facts})
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.op == "" {
				if len(actions) != 0 {
					t.Fatalf("want nothing, got %+v", actions)
				}
				return
			}
			if len(actions) != 1 || actions[0].Op != tc.op {
				t.Fatalf("want %s, got %+v", tc.op, actions)
			}
			a := actions[0]
			if !strings.Contains(a.Script, "AAAAC3NzaC1lZDI1NTE5AAAAIA==") || !strings.Contains(a.Script, `chmod 600 "$t"`) {
				t.Errorf("script %s", a.Script)
			}
			if tc.state == "absent" && !strings.Contains(a.Script, strings.ReplaceAll("O_LINE='' awk", "'", `'\''`)) {
				t.Errorf("absent appends a line: %s", a.Script)
			}
		})
	}
}

func TestDependsOnUser(t *testing.T) {
	k := &v1alpha1.Resource{TypeMeta: v1alpha1.TypeMeta{Kind: "AuthorizedKey"}, Metadata: v1alpha1.ObjectMeta{Name: "k"},
		Spec: &v1alpha1.AuthorizedKeySpec{User: "alice", Key: key}}
	u := &v1alpha1.Resource{TypeMeta: v1alpha1.TypeMeta{Kind: "User"}, Metadata: v1alpha1.ObjectMeta{Name: "alice"},
		Spec: &v1alpha1.UserSpec{Name: "alice"}}
	if got := testenv.Registry(t, Kind).Dependencies(k, []*v1alpha1.Resource{k, u}); len(got) != 1 || got[0].String() != "User/alice" {
		t.Errorf("deps %v", got)
	}
}
