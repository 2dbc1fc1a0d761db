package reconcilers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"reflect"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/transport"
)

func TestPathsQueryIsStable(t *testing.T) {
	a := PathsQuery([]PathRequest{{Path: "/b"}, {Path: "/a", ContentLimit: 10}, {Path: "/a"}})
	b := PathsQuery([]PathRequest{{Path: "/a"}, {Path: "/a", ContentLimit: 10}, {Path: "/b"}})
	if a.Key != b.Key || a.Script != b.Script {
		t.Errorf("order changes the query:\n%s\n%s", a.Script, b.Script)
	}
	if !strings.HasPrefix(a.Key, PathsKeyPrefix) || strings.Count(a.Script, "-size -11c") != 2 {
		t.Errorf("query %+v", a)
	}
}

// TestPathsQueryForksPerQueryNotPerPath keeps the query's process count
// independent of the number of paths: that is what keeps observe cheap.
func TestPathsQueryForksPerQueryNotPerPath(t *testing.T) {
	var reqs []PathRequest
	for i := range 100 {
		reqs = append(reqs, PathRequest{Path: fmt.Sprintf("/srv/p%d", i), ContentLimit: 64 << 10})
	}
	q := PathsQuery(reqs)
	// One find for the records that also hands sha256sum the files it may
	// hash (files over ChecksumLimit skipped), then find for the sizes and
	// content.
	if n := strings.Count(q.Script, "find ") + strings.Count(q.Script, "sha256sum "); n != 4 {
		t.Errorf("%d find/sha256sum invocations for 100 paths, want 4", n)
	}
}

func TestParsePathsRoundTrip(t *testing.T) {
	content := []byte("a\x00b")
	sum := sha256.Sum256(content)
	in := []PathInfo{
		{Path: "/etc/a b", Exists: true, Type: TypeFile, Mode: fs.ModeSetuid | 0o755, UID: 1, GID: 2, Owner: "x", Group: "y", Size: 3,
			SHA256: hex.EncodeToString(sum[:]), Content: content, HasContent: true},
		{Path: "/gone"},
		{Path: "/l", Exists: true, Type: TypeSymlink, Mode: 0o777, Owner: "root", Group: "root", Target: "/x\ny"},
		{Path: "/d", Exists: true, Type: TypeDirectory, Mode: 0o755, Owner: "root", Group: "root", Empty: true},
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
	f := NewFacts(map[string]transport.Result{PathsKeyPrefix + "1": {Stdout: EncodePaths(in[1:]...)}, PathsKeyPrefix + "2": {Stdout: EncodePaths(in...)}})
	if got, err := FindPath(f, "/etc/a b"); err != nil || !got.HasContent {
		t.Errorf("FindPath = %+v, %v", got, err)
	}
	if got, err := FindPath(f, "/gone"); err != nil || got.Exists {
		t.Errorf("FindPath(/gone) = %+v, %v", got, err)
	}
	if _, err := FindPath(f, "/nowhere"); err == nil {
		t.Error("undeclared path found")
	}
}

// TestContentThatChangedIsDropped: a checksum that does not match the
// content read afterwards means the file changed between the reads.
func TestContentThatChangedIsDropped(t *testing.T) {
	in := PathInfo{Path: "/f", Exists: true, Type: TypeFile, Size: 2, SHA256: "0000", Content: []byte("hi"), HasContent: true}
	m, err := ParsePaths(EncodePaths(in))
	if err != nil {
		t.Fatal(err)
	}
	if m["/f"].HasContent || m["/f"].SHA256 != "0000" {
		t.Errorf("got %+v", m["/f"])
	}
}

// TestPathsQueryOnLocalShell runs the real script against files made here.
func TestPathsQueryOnLocalShell(t *testing.T) {
	if _, err := exec.LookPath("find"); err != nil {
		t.Skip("no find")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "it's a file")
	big := filepath.Join(dir, "big")
	empty := filepath.Join(dir, "empty")
	link := filepath.Join(dir, "link")
	must(t, os.WriteFile(file, []byte("hello\n"), 0o640))
	must(t, os.WriteFile(big, make([]byte, 100), 0o600))
	must(t, os.Mkdir(empty, 0o2750))
	must(t, os.Chmod(empty, 0o750|os.ModeSetgid)) // Go spells setgid as a mode flag, not 0o2000
	must(t, os.Symlink("/nowhere", link))
	q := PathsQuery([]PathRequest{{Path: file, ContentLimit: 64}, {Path: big, ContentLimit: 64}, {Path: empty}, {Path: link},
		{Path: filepath.Join(dir, "missing")}})
	m := runLocally(t, q)
	sum := sha256.Sum256([]byte("hello\n"))
	if f := m[file]; f.Type != TypeFile || f.Mode != 0o640 || string(f.Content) != "hello\n" || f.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("file = %+v", f)
	}
	if b := m[big]; b.HasContent || b.Size != 100 || b.SHA256 == "" {
		t.Errorf("big = %+v (over the content limit)", b)
	}
	if d := m[empty]; d.Type != TypeDirectory || !d.Empty || d.Mode != fs.ModeSetgid|0o750 {
		t.Errorf("dir = %+v", d)
	}
	if l := m[link]; l.Type != TypeSymlink || l.Target != "/nowhere" {
		t.Errorf("link = %+v", l)
	}
	if x, ok := m[filepath.Join(dir, "missing")]; !ok || x.Exists {
		t.Errorf("missing = %+v %v", x, ok)
	}
}

// TestPathsQueryReadsContentOnlyWhenItDiffers runs the real script: a file
// whose sum is the one that makes its content unneeded comes back without
// content, one that differs with it, and names sha256sum escapes keep
// their sums.
func TestPathsQueryReadsContentOnlyWhenItDiffers(t *testing.T) {
	if _, err := exec.LookPath("find"); err != nil {
		t.Skip("no find")
	}
	dir := t.TempDir()
	same, other, odd := filepath.Join(dir, "same"), filepath.Join(dir, "other"), filepath.Join(dir, "a\\b\nc")
	for _, p := range []string{same, other, odd} {
		must(t, os.WriteFile(p, []byte("is\n"), 0o644))
	}
	hex := func(s string) string { h := sha256.Sum256([]byte(s)); return fmt.Sprintf("%x", h) }
	q := PathsQuery([]PathRequest{
		{Path: same, ContentLimit: 64, ContentUnless: hex("is\n")},
		{Path: other, ContentLimit: 64, ContentUnless: hex("should be\n")},
		{Path: odd, ContentLimit: 64, ContentUnless: hex("is\n")},
	})
	m := runLocally(t, q)
	if f := m[same]; f.HasContent || f.SHA256 != hex("is\n") {
		t.Errorf("same = %+v: content read although it is what it should be", f)
	}
	if f := m[other]; !f.HasContent || string(f.Content) != "is\n" {
		t.Errorf("other = %+v: no content although it differs", f)
	}
	// The escaped name never matches the wanted line in the shell, so its
	// content is read: harmless, and its sum is still parsed.
	if f := m[odd]; f.SHA256 != hex("is\n") || !f.HasContent {
		t.Errorf("odd name = %+v", f)
	}
}

// TestPathsQueryHashesOnlyBoundedRegularFiles runs the real script: a file
// over ChecksumLimit (sparse, so the test writes nothing) is described but
// not hashed, and a symbolic link to a file is not hashed as the file.
func TestPathsQueryHashesOnlyBoundedRegularFiles(t *testing.T) {
	if _, err := exec.LookPath("find"); err != nil {
		t.Skip("no find")
	}
	dir := t.TempDir()
	huge, small, link := filepath.Join(dir, "huge"), filepath.Join(dir, "small"), filepath.Join(dir, "link")
	must(t, os.WriteFile(huge, nil, 0o644))
	must(t, os.Truncate(huge, ChecksumLimit+1))
	must(t, os.WriteFile(small, []byte("x"), 0o644))
	must(t, os.Symlink(small, link))
	m := runLocally(t, PathsQuery([]PathRequest{{Path: huge}, {Path: small}, {Path: link}}))
	if f := m[huge]; f.Type != TypeFile || f.Size != ChecksumLimit+1 || f.SHA256 != "" {
		t.Errorf("huge = %+v: want its size and no sum", f)
	}
	sum := sha256.Sum256([]byte("x"))
	if f := m[small]; f.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("small = %+v: want its sum", f)
	}
	if f := m[link]; f.Type != TypeSymlink || f.SHA256 != "" {
		t.Errorf("link = %+v: want a link without a sum", f)
	}
}

// runLocally runs a PathsQuery in the local sh and parses what it printed.
func runLocally(t *testing.T, q Query) map[string]PathInfo {
	t.Helper()
	out, err := exec.Command("sh", "-c", q.Script).Output()
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParsePaths(out)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func FuzzParsePaths(f *testing.F) {
	f.Add(EncodePaths(PathInfo{Path: "/a", Exists: true, Type: TypeFile, Owner: "r", Group: "r"}, PathInfo{Path: "/b"}))
	f.Add([]byte("END\x00END\x00END\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParsePaths(b)
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

func TestModesRoundTrip(t *testing.T) {
	for _, unix := range []uint32{0, 0o644, 0o755, 0o1777, 0o2750, 0o4755, 0o7777} {
		m := FileMode(unix)
		if got := UnixMode(m); got != unix {
			t.Errorf("UnixMode(FileMode(%04o)) = %04o", unix, got)
		}
		if p, err := ParseMode(OctalMode(m)); err != nil || p != m {
			t.Errorf("ParseMode(OctalMode(%v)) = %v, %v", m, p, err)
		}
	}
	if FileMode(0o2750) != fs.ModeSetgid|0o750 {
		t.Errorf("FileMode(02750) = %v", FileMode(0o2750))
	}
}

// BenchmarkPathsQuery builds the query of one host of the controller
// benchmark: 60 paths, each File's content wanted unless it is the one
// managed. The engine builds one on every observe of every host.
func BenchmarkPathsQuery(b *testing.B) {
	reqs := []PathRequest{{Path: "/tmp/fleet"}, {Path: "/tmp/shared"}}
	for i := range 58 {
		reqs = append(reqs, PathRequest{Path: fmt.Sprintf("/tmp/shared/f%02d", i), ContentLimit: 64 << 10, ContentUnless: strings.Repeat("ab", 32)})
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = PathsQuery(reqs)
	}
}

// BenchmarkParsePaths parses what the query of BenchmarkPathsQuery prints
// on a converged host: every file root's, with its sum, no content.
func BenchmarkParsePaths(b *testing.B) {
	infos := []PathInfo{
		{Path: "/", Exists: true, Type: TypeDirectory, Mode: 0o755, Owner: "root", Group: "root", Links: 1, Dev: "801"},
		{Path: "/tmp", Exists: true, Type: TypeDirectory, Mode: fs.ModeSticky | 0o777, Owner: "root", Group: "root", Links: 1, Dev: "801"},
		{Path: "/tmp/shared", Exists: true, Type: TypeDirectory, Mode: 0o755, Owner: "root", Group: "root", Links: 1, Dev: "801"},
	}
	for i := range 58 {
		infos = append(infos, PathInfo{Path: fmt.Sprintf("/tmp/shared/f%02d", i), Exists: true, Type: TypeFile, Mode: 0o644,
			Owner: "root", Group: "root", Size: 10, Links: 1, Dev: "801", SHA256: strings.Repeat("ab", 32)})
	}
	out := EncodePaths(infos...)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePaths(out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFindPath is the planning of one host of the controller
// benchmark: FindPath for each of its paths, from fresh facts.
func BenchmarkFindPath(b *testing.B) {
	var infos []PathInfo
	for _, d := range []string{"/", "/tmp", "/tmp/shared"} {
		infos = append(infos, PathInfo{Path: d, Exists: true, Type: TypeDirectory, Mode: 0o755, Owner: "root", Group: "root", Links: 1, Dev: "801"})
	}
	var paths []string
	for i := range 58 {
		p := fmt.Sprintf("/tmp/shared/f%02d", i)
		paths = append(paths, p)
		infos = append(infos, PathInfo{Path: p, Exists: true, Type: TypeFile, Mode: 0o644, Owner: "root", Group: "root", Size: 10, Links: 1, Dev: "801", SHA256: strings.Repeat("ab", 32)})
	}
	out := EncodePaths(infos...)
	b.ReportAllocs()
	for b.Loop() {
		f := NewFacts(map[string]transport.Result{PathsKeyPrefix + "1": {Stdout: out}, "other": {}})
		for _, p := range paths {
			if _, err := FindPath(f.For("File"), p); err != nil {
				b.Fatal(err)
			}
		}
	}
}
