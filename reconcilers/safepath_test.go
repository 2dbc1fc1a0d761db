package reconcilers

import (
	"strings"
	"testing"
)

func TestCheckPath(t *testing.T) {
	dir := func(p string, mode uint32, uid int, owner string) PathInfo {
		return PathInfo{Path: p, Exists: true, Type: TypeDirectory, Mode: FileMode(mode), UID: uid, GID: uid, Owner: owner, Group: owner}
	}
	root := []PathInfo{dir("/", 0o755, 0, "root"), dir("/home", 0o755, 0, "root"), dir("/tmp", 0o1777, 0, "root")}
	for _, tc := range []struct {
		name    string
		extra   []PathInfo
		path    string
		user    string // controlling user, "" for root
		wantErr string
	}{
		{name: "root's directories", path: "/home/x"},
		{name: "missing directory", path: "/srv/a/b"},
		{name: "user's home", extra: []PathInfo{dir("/home/alice", 0o750, 1000, "alice")}, path: "/home/alice/.ssh/authorized_keys", user: "alice"},
		{name: "user's link", extra: []PathInfo{dir("/home/alice", 0o750, 1000, "alice"),
			{Path: "/home/alice/.ssh", Exists: true, Type: "symlink", Target: "/etc/sudoers.d", UID: 1000, Owner: "alice"}},
			path: "/home/alice/.ssh/authorized_keys", wantErr: "/home/alice/.ssh is a symbolic link to /etc/sudoers.d owned by alice; refusing to follow it"},
		{name: "root's link in root's directory", extra: []PathInfo{{Path: "/home/l", Exists: true, Type: "symlink", Target: "/srv", Owner: "root"}},
			path: "/home/l/x"},
		{name: "root's link below a user's directory", extra: []PathInfo{dir("/home/alice", 0o750, 1000, "alice"),
			{Path: "/home/alice/l", Exists: true, Type: "symlink", Target: "/etc", Owner: "root"}},
			path: "/home/alice/l/x", wantErr: "/home/alice/l is a symbolic link to /etc owned by root; refusing to follow it"},
		{name: "world-writable", extra: []PathInfo{dir("/home/w", 0o777, 0, "root")}, path: "/home/w/x", wantErr: "writable by every user"},
		{name: "group-writable", extra: []PathInfo{{Path: "/home/g", Exists: true, Type: "directory", Mode: 0o775, GID: 50, Owner: "root", Group: "staff"}},
			path: "/home/g/x", wantErr: "writable by group staff"},
		{name: "sticky directory, root's file", extra: []PathInfo{{Path: "/tmp/f", Exists: true, Type: "file", Owner: "root"}}, path: "/tmp/f"},
		{name: "sticky directory, user's file", extra: []PathInfo{{Path: "/tmp/f", Exists: true, Type: "file", UID: 1000, Owner: "alice"}},
			path: "/tmp/f", user: "alice"},
		{name: "FIFO on the way", extra: []PathInfo{{Path: "/home/p", Exists: true, Type: "other", Owner: "root"}}, path: "/home/p/x", wantErr: "not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := map[string]PathInfo{}
			for _, p := range append(append([]PathInfo{}, root...), tc.extra...) {
				m[p.Path] = p
			}
			c, err := checkPath(m, tc.path)
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case c.User != tc.user:
				t.Errorf("controlled by %q, want %q", c.User, tc.user)
			}
		})
	}
}

func TestCheckOwnerAndAttributes(t *testing.T) {
	p := PathInfo{Path: "/home/alice/f", Type: "file", Links: 2, Owner: "root", Control: Control{UID: 1000, User: "alice", Via: "/home/alice"}}
	if err := p.CheckOwner("root"); err == nil || !strings.Contains(err.Error(), "/home/alice/f cannot be owned by root: /home/alice is controlled by alice") {
		t.Errorf("owner: %v", err)
	}
	if err := p.CheckOwner("alice"); err != nil {
		t.Errorf("owner alice: %v", err)
	}
	if err := p.CheckAttributes(); err == nil || !strings.Contains(err.Error(), "has 2 hard links") {
		t.Errorf("links: %v", err)
	}
}
