package reconcilers

import (
	"reflect"
	"strings"
	"testing"
)

func TestPathsQueryIsStable(t *testing.T) {
	a := PathsQuery([]PathRequest{{Path: "/b"}, {Path: "/a", ContentLimit: 10}, {Path: "/a"}})
	b := PathsQuery([]PathRequest{{Path: "/a"}, {Path: "/a", ContentLimit: 10}, {Path: "/b"}})
	if a != b {
		t.Errorf("order changes the query:\n%s\n%s", a.Script, b.Script)
	}
	if !strings.HasPrefix(a.Key, PathsKeyPrefix) || strings.Count(a.Script, "optimus_path /a 10") != 1 || strings.Contains(a.Script, "optimus_path /a 0") {
		t.Errorf("query %+v", a)
	}
}

func TestParsePathsRoundTrip(t *testing.T) {
	in := []PathInfo{
		{Path: "/etc/a b", Exists: true, Type: "file", Mode: 0o4755, UID: 1, GID: 2, Owner: "x", Group: "y", Size: 3,
			SHA256: "abc", Content: []byte("a\x00b"), HasContent: true},
		{Path: "/gone"},
		{Path: "/l", Exists: true, Type: "symlink", Mode: 0o777, Owner: "root", Group: "root", Target: "/x\ny"},
		{Path: "/d", Exists: true, Type: "directory", Mode: 0o755, Owner: "root", Group: "root", Empty: true},
	}
	m, err := ParsePaths(EncodePaths(in...))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range in {
		if got := m[want.Path]; !reflect.DeepEqual(got, want) {
			t.Errorf("got  %+v\nwant %+v", got, want)
		}
	}
	f := Facts{PathsKeyPrefix + "1": {Stdout: EncodePaths(in[1:]...)}, PathsKeyPrefix + "2": {Stdout: EncodePaths(in...)}}
	if got, err := FindPath(f, "/etc/a b"); err != nil || !got.HasContent {
		t.Errorf("FindPath = %+v, %v", got, err)
	}
	if _, err := FindPath(f, "/nowhere"); err == nil {
		t.Error("undeclared path found")
	}
}

func FuzzParsePaths(f *testing.F) {
	f.Add(EncodePaths(PathInfo{Path: "/a", Exists: true, Type: "file", Owner: "r", Group: "r"}))
	f.Add([]byte("/a\x00error\x00boom\x00\x00\x00\x00-\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParsePaths(b)
		if err == nil {
			for p := range m {
				scanPaths(b, p)
			}
		}
	})
}

func TestUnifiedDiff(t *testing.T) {
	for _, tc := range []struct{ a, b, want string }{
		{"a\nb\nc\n", "a\nB\nc\n", "--- f\n+++ f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"},
		{"", "x\n", "--- f\n+++ f\n@@ -0,0 +1 @@\n+x\n"},
		{"x", "x\n", "--- f\n+++ f\n@@ -1 +1 @@\n-x\n\\ No newline at end of file\n+x\n"},
		{"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "1\n2\n3\n4\n5\n6\n7\n8\n9\nten\n",
			"--- f\n+++ f\n@@ -7,4 +7,4 @@\n 7\n 8\n 9\n-10\n+ten\n"},
		{"same\n", "same\n", ""},
	} {
		if got := UnifiedDiff("f", tc.a, tc.b); got != tc.want {
			t.Errorf("diff %q -> %q:\ngot\n%s\nwant\n%s", tc.a, tc.b, got, tc.want)
		}
	}
}
