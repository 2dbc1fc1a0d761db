package reconcilers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/optimus-cm/optimus/transport"
)

// PathsKeyPrefix starts the Key of every PathsQuery. The key ends with a hash
// of the script, so two kinds asking about the same paths share one command,
// and Plan finds its path by looking through every fact with this prefix.
const PathsKeyPrefix = "paths."

// PathRequest is one path a PathsQuery inspects.
type PathRequest struct {
	Path string
	// ContentLimit, when positive, includes the content of a regular file of
	// at most this many bytes (base64 on the wire, so any bytes survive)
	// and a single link: a hard link a user planted to a file of root's
	// must not bring that file's content into a plan.
	ContentLimit int64
	// ContentUnless, with ContentLimit, skips the content when the file's
	// sha256 (hex) is this one: a kind that reads content only to show how
	// it differs from what it wants reads nothing on a no-op, which saves
	// the host two processes per observe.
	ContentUnless string
	// Sensitive marks a path whose content must never be shown (a File
	// with sensitive: true); every kind that reads the path learns it from
	// PathInfo.Sensitive.
	Sensitive bool
}

// The output of a PathsQuery is four NUL-separated sections, each ended by
// a field "END" (never a path: paths are absolute):
//
//	absent:  each path that does not exist (shell builtins only)
//	find:    path, mode, uid, gid, owner, group, size, type, link target,
//	         link count, device, empty-directory flag — one record per path
//	         that exists, and per directory above one (for CheckPath)
//	sha256:  one field of lines "HEX  PATH", one per regular file, as
//	         sha256sum prints them (a name with a backslash, newline or
//	         carriage return escaped, its line starting with a backslash)
//	sensitive: each path a request marked sensitive (printed by the query
//	         itself, not read from the host)
//	content: path, size per small regular file whose content was asked
//	         for, then END, then their bytes back to back
//
// Each section is one process whatever the number of paths: forks cost
// milliseconds on small hosts, so a process per path would dominate a
// no-op run. Content is checked against the sha256 section, so a file that
// changes between the two reads is reported without content, never wrong.
//
// Owner and group names of uid and gid 0 are printed as root without asking
// the host's user database: a lookup per path reads /etc/passwd and
// /etc/group again each time, which was a third of a no-op observe, and
// nearly every managed path is root's.
const findFormat = `'%p\0%m\0%U\0%G\0' \( -uid 0 -printf 'root\0' -o -printf '%u\0' \) ` +
	`\( -gid 0 -printf 'root\0' -o -printf '%g\0' \) -printf '%s\0%y\0%l\0%n\0%D\0' ` +
	`\( -type d -empty -printf '1\0' -o -printf '0\0' \)`

// PathsQuery returns one read-only command that inspects every path: type,
// mode, owner, group, size, sha256 of regular files, target of symbolic
// links, whether a directory is empty and, where asked, the content of small
// files. It needs only coreutils and findutils. Requests are sorted so the
// same set always gives the same Key and Script.
func PathsQuery(reqs []PathRequest) Query {
	limits := map[string]int64{}
	sensitive := map[string]bool{}
	// unless[p] is the sha256 that makes p's content unneeded; "" when a
	// request wants it whatever it is.
	unless := map[string]string{}
	for _, r := range reqs {
		limits[r.Path] = max(limits[r.Path], r.ContentLimit)
		sensitive[r.Path] = sensitive[r.Path] || r.Sensitive
		if r.ContentLimit > 0 {
			if u, seen := unless[r.Path]; !seen || u == r.ContentUnless {
				unless[r.Path] = r.ContentUnless
			} else {
				unless[r.Path] = ""
			}
		}
	}
	paths := make([]string, 0, len(limits))
	for p := range limits {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	quoted := make([]string, len(paths))
	for i, p := range paths {
		quoted[i] = ShellCommand(p)
	}
	// find also lists every directory above the paths, so that plan can
	// apply the rule of safepath.go without another round trip.
	requested := map[string]bool{}
	for _, p := range paths {
		requested[p] = true
	}
	above := map[string]bool{}
	for _, p := range paths {
		for _, a := range ancestors(p) {
			if !requested[a] {
				above[a] = true
			}
		}
	}
	walked := make([]string, 0, len(above))
	for p := range above {
		walked = append(walked, p)
	}
	sort.Strings(walked)
	for i, p := range walked {
		walked[i] = ShellCommand(p)
	}

	// The paths are written once, as the positional parameters, and every
	// section reads them from there: the script is sent on every observe.
	var b strings.Builder
	// Sized once: the script is built on every observe of every host.
	size := 1024
	for i, q := range quoted {
		size += len(q) + 1
		if unless[paths[i]] != "" {
			size += 2 * (len(q) + 68) // in both content sections, with its sum
		}
	}
	for _, w := range walked {
		size += len(w) + 1
	}
	b.Grow(size)
	b.WriteString("LC_ALL=C; export LC_ALL\n")
	fmt.Fprintf(&b, "set -- %s\n", strings.Join(quoted, " "))
	b.WriteString("for p; do [ -e \"$p\" ] || [ -L \"$p\" ] || printf '%s\\0' \"$p\"; done; printf 'END\\0'\n")
	if len(paths) > 0 { // find with no path would describe the working directory
		fmt.Fprintf(&b, "find %s \"$@\" -maxdepth 0 -printf %s 2>/dev/null\n", strings.Join(walked, " "), findFormat)
	}
	b.WriteString("printf 'END\\0'\n")
	b.WriteString("_n=$#; for p; do [ -f \"$p\" ] && [ ! -L \"$p\" ] && set -- \"$@\" \"$p\"; done; shift $_n\n")
	// The sums are kept in the shell, so that content is read only for
	// files whose sum is not the one wanted (see contentFiles).
	// Files over ChecksumLimit are not hashed: a sparse file of a terabyte
	// would keep sha256sum reading zeros for minutes.
	fmt.Fprintf(&b, "_s=; [ $# -eq 0 ] || _s=$(find \"$@\" -maxdepth 0 -type f -size -%dc -exec sha256sum -- {} + 2>/dev/null)\n", int64(ChecksumLimit)+1)
	b.WriteString("[ -z \"$_s\" ] || printf '%s\\0' \"$_s\"\nprintf 'END\\0'\n")
	for i, p := range paths {
		if sensitive[p] {
			fmt.Fprintf(&b, "printf '%%s\\0' %s\n", quoted[i])
		}
	}
	b.WriteString("printf 'END\\0'\n")
	// Content: files grouped by size limit, listed first, then their bytes.
	byLimit := map[int64][]int{}
	var sizes []int64
	for i, p := range paths {
		if l := limits[p]; l > 0 {
			if _, ok := byLimit[l]; !ok {
				sizes = append(sizes, l)
			}
			byLimit[l] = append(byLimit[l], i)
		}
	}
	sort.Slice(sizes, func(i, j int) bool { return sizes[i] < sizes[j] })
	if len(sizes) > 0 {
		b.WriteString("_nl='\n'\n")
	}
	for _, l := range sizes {
		contentFiles(&b, byLimit[l], paths, quoted, unless)
		fmt.Fprintf(&b, "[ $# -eq 0 ] || find \"$@\" -maxdepth 0 -type f -links 1 -size -%dc -printf '%%p\\0%%s\\0' 2>/dev/null\n", l+1)
	}
	b.WriteString("printf 'END\\0'\n")
	for _, l := range sizes {
		contentFiles(&b, byLimit[l], paths, quoted, unless)
		fmt.Fprintf(&b, "[ $# -eq 0 ] || find \"$@\" -maxdepth 0 -type f -links 1 -size -%dc -exec cat -- {} + 2>/dev/null\n", l+1)
	}
	b.WriteString("exit 0\n")
	sum := sha256.Sum256([]byte(b.String()))
	return Query{Key: PathsKeyPrefix + hex.EncodeToString(sum[:8]), Script: b.String(), Paths: reqs}
}

// contentFiles writes shell that sets the positional parameters to the
// files of idx whose content is to be read: those wanted whatever their
// content, and those whose line in sha256sum's output ($_s) is not the sum
// that would make the content unneeded. Only builtins run: a no-op observe
// starts no process for content.
func contentFiles(b *strings.Builder, idx []int, paths, quoted []string, unless map[string]string) {
	b.WriteString("set --")
	n := 0
	for _, i := range idx {
		if sum := unless[paths[i]]; sum != "" {
			fmt.Fprintf(b, " %s %s", transport.Quote(sum), quoted[i])
			n++
		}
	}
	b.WriteString("\n")
	if n > 0 {
		b.WriteString("_n=$#; while [ \"$_n\" -gt 0 ]; do case \"$_nl$_s$_nl\" in *\"$_nl$1  $2$_nl\"*) ;; *) set -- \"$@\" \"$2\" ;; esac; shift 2; _n=$((_n - 2)); done\n")
	}
	var always []string
	for _, i := range idx {
		if unless[paths[i]] == "" {
			always = append(always, quoted[i])
		}
	}
	if len(always) > 0 {
		fmt.Fprintf(b, "set -- \"$@\" %s\n", strings.Join(always, " "))
	}
}

// PathInfo is what a PathsQuery found at one path.
type PathInfo struct {
	Path   string
	Exists bool
	Type   PathType
	// Mode holds the permission bits with fs.ModeSetuid, fs.ModeSetgid
	// and fs.ModeSticky.
	Mode  fs.FileMode
	UID   int
	GID   int
	Owner string
	Group string
	Size  int64
	// SHA256 of a regular file, hex; empty for a file larger than
	// ChecksumLimit.
	SHA256 string
	// Target of a symbolic link.
	Target string
	// Links is the number of hard links; Dev the device (hex major/minor).
	Links int
	Dev   string
	// MountPoint is true when the path is on another device than its
	// directory: a bind mount (as /etc/hosts in containers).
	MountPoint bool
	// Control says who besides root controls the path (see safepath.go).
	Control Control
	// Empty is true for a directory without entries.
	Empty bool
	// Content of a regular file, when asked for and small enough.
	Content    []byte
	HasContent bool
	// Sensitive: a request marked the path sensitive; its content must
	// never be shown.
	Sensitive bool
}

// PathType is what kind of file a path is.
type PathType string

// Path types; the zero value is for a path that does not exist.
const (
	TypeFile      PathType = "file"
	TypeDirectory PathType = "directory"
	TypeSymlink   PathType = "symlink"
	TypeOther     PathType = "other"
)

// ModeString is the mode as four octal digits: "0644".
func (p PathInfo) ModeString() string { return OctalMode(p.Mode) }

// OctalMode writes m as chmod takes it: four octal digits, "2750".
func OctalMode(m fs.FileMode) string { return fmt.Sprintf("%04o", UnixMode(m)) }

// FileMode converts Unix permission bits (as chmod and find print them,
// setuid 04000, setgid 02000, sticky 01000) to an fs.FileMode.
func FileMode(unix uint32) fs.FileMode {
	m := fs.FileMode(unix) & fs.ModePerm
	if unix&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if unix&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if unix&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// UnixMode is the inverse of FileMode.
func UnixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}

func parentDir(p string) string {
	a := ancestors(p)
	if len(a) == 0 {
		return ""
	}
	return a[len(a)-1]
}

// FindPath looks for path in the results of every PathsQuery of facts,
// each parsed once per cycle. A record with content wins over one without.
// It fails with an *UnsafePathError when acting on path would follow what
// another user controls (see safepath.go).
func FindPath(f *Facts, path string) (PathInfo, error) {
	var found PathInfo
	ok := false
	for _, k := range f.Keys(PathsKeyPrefix) {
		m, err := Parsed(f, k, func(out string) (map[string]PathInfo, error) { return ParsePaths([]byte(out)) })
		if err != nil {
			return PathInfo{}, fmt.Errorf("query %s: %w", k, err)
		}
		info, hit := m[path]
		if hit && (!ok || info.HasContent && !found.HasContent) {
			if info.Control, err = checkPath(m, path); err != nil {
				return PathInfo{}, err
			}
			if dir, seen := m[parentDir(path)]; seen && dir.Exists && info.Exists && dir.Dev != info.Dev {
				info.MountPoint = true
			}
			found, ok = info, true
		}
	}
	if !ok {
		return PathInfo{}, fmt.Errorf("path %s was not observed: the reconciler did not declare it in its query", path)
	}
	return found, nil
}

// ParsePaths parses the whole output of a PathsQuery, keyed by path.
func ParsePaths(out []byte) (map[string]PathInfo, error) {
	next := func() ([]byte, error) {
		j := bytes.IndexByte(out, 0)
		if j < 0 {
			return nil, fmt.Errorf("truncated output")
		}
		f := out[:j]
		out = out[j+1:]
		return f, nil
	}
	// section calls each with every field up to the section's END; each
	// reads the rest of its record with next.
	section := func(each func(f []byte) error) error {
		for {
			f, err := next()
			if err != nil {
				return err
			}
			if string(f) == "END" {
				return nil
			}
			if err := each(f); err != nil {
				return err
			}
		}
	}
	m := map[string]PathInfo{}
	absent := func(f []byte) error {
		m[string(f)] = PathInfo{Path: string(f)}
		return nil
	}
	record := func(f []byte) error {
		var fields [12][]byte
		fields[0] = f
		for i := 1; i < len(fields); i++ {
			var err error
			if fields[i], err = next(); err != nil {
				return err
			}
		}
		info, err := parseRecord(fields)
		if err != nil {
			return err
		}
		m[info.Path] = info
		return nil
	}
	sums := func(f []byte) error {
		for _, line := range strings.Split(string(f), "\n") {
			sum, path, ok := parseSumLine(line)
			if info, exists := m[path]; ok && exists {
				info.SHA256 = sum
				m[path] = info
			}
		}
		return nil
	}
	sensitive := func(f []byte) error {
		info := m[string(f)]
		info.Path, info.Sensitive = string(f), true
		m[string(f)] = info
		return nil
	}
	type chunk struct {
		path string
		size int
	}
	var chunks []chunk
	total := 0
	sizes := func(f []byte) error {
		sz, err := next()
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(string(sz))
		if err != nil || n < 0 {
			return fmt.Errorf("content of %s: bad size %q", f, sz)
		}
		chunks = append(chunks, chunk{string(f), n})
		total += n
		return nil
	}
	for _, each := range []func([]byte) error{absent, record, sums, sensitive, sizes} {
		if err := section(each); err != nil {
			return nil, err
		}
	}
	// A file that changed between the reads makes the sizes or a checksum
	// disagree: then no content is reported rather than a wrong one.
	if total != len(out) {
		return m, nil
	}
	contents := map[string][]byte{}
	for _, c := range chunks {
		b := out[:c.size]
		out = out[c.size:]
		sum := sha256.Sum256(b)
		if info, ok := m[c.path]; !ok || info.SHA256 != hex.EncodeToString(sum[:]) {
			return m, nil
		}
		contents[c.path] = b
	}
	for p, b := range contents {
		info := m[p]
		info.Content, info.HasContent = b, true
		m[p] = info
	}
	return m, nil
}

// parseSumLine reads one line of sha256sum: "HEX  NAME", or, for a name
// with a backslash, newline or carriage return, "\\HEX  NAME" with those
// escaped as \\\\, \\n and \\r.
func parseSumLine(line string) (sum, path string, ok bool) {
	escaped := strings.HasPrefix(line, "\\")
	if escaped {
		line = line[1:]
	}
	sum, path, ok = strings.Cut(line, "  ")
	if !ok || !escaped {
		return sum, path, ok
	}
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		c := path[i]
		if c != '\\' || i+1 == len(path) {
			b.WriteByte(c)
			continue
		}
		i++
		switch path[i] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		default:
			b.WriteByte(path[i])
		}
	}
	return sum, b.String(), true
}

func parseRecord(f [12][]byte) (PathInfo, error) {
	info := PathInfo{Path: string(f[0]), Exists: true}
	mode, err1 := strconv.ParseUint(string(f[1]), 8, 32)
	uid, err2 := strconv.Atoi(string(f[2]))
	gid, err3 := strconv.Atoi(string(f[3]))
	size, err4 := strconv.ParseInt(string(f[6]), 10, 64)
	links, err5 := strconv.Atoi(string(f[9]))
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || err5 != nil {
		return info, fmt.Errorf("record for %s: malformed fields %q", info.Path, bytes.Join(f[1:7], []byte{'/'}))
	}
	info.Mode, info.UID, info.GID, info.Owner, info.Group, info.Size = FileMode(uint32(mode)), uid, gid, string(f[4]), string(f[5]), size
	info.Links, info.Dev = links, string(f[10])
	switch string(f[7]) {
	case "f":
		info.Type = TypeFile
	case "d":
		info.Type = TypeDirectory
		info.Empty = string(f[11]) == "1"
	case "l":
		info.Type = TypeSymlink
		info.Target = string(f[8])
	default:
		info.Type = TypeOther
	}
	return info, nil
}

// ParseMode parses an octal mode string such as "0644" or "755".
func ParseMode(s string) (fs.FileMode, error) {
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o7777 {
		return 0, fmt.Errorf("invalid mode %q: use octal digits such as \"0644\"", s)
	}
	return FileMode(uint32(m)), nil
}

// Describe names the type of what is at a path, for messages.
func (p PathInfo) Describe() string {
	switch p.Type {
	case TypeFile:
		return "a regular file"
	case TypeDirectory:
		if p.Empty {
			return "an empty directory"
		}
		return "a directory"
	case TypeSymlink:
		return "a symbolic link to " + p.Target
	case "":
		return "nothing"
	}
	return "a special file"
}

// EncodePaths writes infos the way a PathsQuery reports them, for tests of
// reconcilers that plan from PathsQuery facts.
func EncodePaths(infos ...PathInfo) []byte {
	var b bytes.Buffer
	for _, p := range infos {
		if !p.Exists {
			fmt.Fprintf(&b, "%s\x00", p.Path)
		}
	}
	b.WriteString("END\x00")
	types := map[PathType]string{TypeFile: "f", TypeDirectory: "d", TypeSymlink: "l"}
	for _, p := range infos {
		if !p.Exists {
			continue
		}
		t := types[p.Type]
		if t == "" {
			t = "p"
		}
		empty := "0"
		if p.Empty {
			empty = "1"
		}
		fmt.Fprintf(&b, "%s\x00%o\x00%d\x00%d\x00%s\x00%s\x00%d\x00%s\x00%s\x00%d\x00%s\x00%s\x00",
			p.Path, UnixMode(p.Mode), p.UID, p.GID, p.Owner, p.Group, p.Size, t, p.Target, p.Links, p.Dev, empty)
	}
	b.WriteString("END\x00")
	var sums []string
	for _, p := range infos {
		if p.Exists && p.SHA256 != "" {
			name := p.Path
			if strings.ContainsAny(name, "\\\n\r") {
				name = "\\" + p.SHA256 + "  " + strings.NewReplacer("\\", "\\\\", "\n", "\\n", "\r", "\\r").Replace(name)
				sums = append(sums, name)
				continue
			}
			sums = append(sums, p.SHA256+"  "+name)
		}
	}
	if len(sums) > 0 {
		b.WriteString(strings.Join(sums, "\n") + "\x00")
	}
	b.WriteString("END\x00")
	for _, p := range infos {
		if p.Sensitive {
			fmt.Fprintf(&b, "%s\x00", p.Path)
		}
	}
	b.WriteString("END\x00")
	for _, p := range infos {
		if p.HasContent {
			fmt.Fprintf(&b, "%s\x00%d\x00", p.Path, len(p.Content))
		}
	}
	b.WriteString("END\x00")
	for _, p := range infos {
		if p.HasContent {
			b.Write(p.Content)
		}
	}
	return b.Bytes()
}

// QueryPaths is the Queries of a kind whose resources each live at a path:
// one PathsQuery for all of them, built from request(spec).
func QueryPaths[S any](objs []Object[S], request func(*S) PathRequest) []Query {
	reqs := make([]PathRequest, len(objs))
	for i, o := range objs {
		reqs[i] = request(o.Spec)
	}
	return []Query{PathRequests(reqs)}
}
