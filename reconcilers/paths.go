package reconcilers

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// PathsKeyPrefix starts the Key of every PathsQuery. The key ends with a hash
// of the script, so two kinds asking about the same paths share one command,
// and Plan finds its path by looking through every fact with this prefix.
const PathsKeyPrefix = "paths."

// PathRequest is one path a PathsQuery inspects.
type PathRequest struct {
	Path string
	// ContentLimit, when positive, includes the content of a regular file of
	// at most this many bytes (base64 on the wire, so any bytes survive).
	ContentLimit int64
}

// pathsFunc prints one record per path: seven NUL-terminated fields (path,
// state, stat or error, sha256, link target, empty, content). It only reads.
const pathsFunc = `LC_ALL=C; export LC_ALL
optimus_path() {
	if [ ! -e "$1" ] && [ ! -L "$1" ]; then printf '%s\0absent\0\0\0\0\0-\0' "$1"; return; fi
	st=$(stat -c '%a/%u/%g/%U/%G/%s/%F' -- "$1" 2>&1) || { printf '%s\0error\0%s\0\0\0\0-\0' "$1" "$st"; return; }
	h= l= e= c=-
	case ${st##*/} in
	regular*)
		h=$(sha256sum <"$1" 2>&1) || { printf '%s\0error\0%s\0\0\0\0-\0' "$1" "$h"; return; }
		h=${h%% *}
		s=${st#*/*/*/*/*/}; s=${s%%/*}
		if [ "$2" -gt 0 ] && [ "$s" -le "$2" ]; then c=$(base64 -w0 <"$1") || c=-; fi ;;
	symbolic*) l=$(readlink -- "$1") ;;
	directory) if [ -z "$(ls -A -- "$1" 2>/dev/null | head -c1)" ]; then e=1; else e=0; fi ;;
	esac
	printf '%s\0ok\0%s\0%s\0%s\0%s\0%s\0' "$1" "$st" "$h" "$l" "$e" "$c"
}
`

// PathsQuery returns one read-only command that inspects every path: type,
// mode, owner, group, size, sha256 of regular files, target of symbolic
// links, whether a directory is empty and, where asked, the content of small
// files. It needs only coreutils. Requests are sorted so the same set always
// gives the same Key and Script.
func PathsQuery(reqs []PathRequest) Query {
	rs := append([]PathRequest(nil), reqs...)
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].Path != rs[j].Path {
			return rs[i].Path < rs[j].Path
		}
		return rs[i].ContentLimit > rs[j].ContentLimit
	})
	var b strings.Builder
	b.WriteString(pathsFunc)
	seen := map[string]bool{}
	for _, r := range rs {
		if seen[r.Path] {
			continue
		}
		seen[r.Path] = true
		fmt.Fprintf(&b, "optimus_path %s %d\n", ShellCommand(r.Path), max(r.ContentLimit, 0))
	}
	b.WriteString("exit 0\n")
	sum := sha256.Sum256([]byte(b.String()))
	return Query{Key: PathsKeyPrefix + hex.EncodeToString(sum[:8]), Script: b.String()}
}

// PathInfo is what a PathsQuery found at one path.
type PathInfo struct {
	Path   string
	Exists bool
	// Type is "file", "directory", "symlink" or "other".
	Type  string
	Mode  uint32 // permission bits, with setuid/setgid/sticky
	UID   int
	GID   int
	Owner string
	Group string
	Size  int64
	// SHA256 of a regular file, hex.
	SHA256 string
	// Target of a symbolic link.
	Target string
	// Empty is true for a directory without entries.
	Empty bool
	// Content of a regular file, when asked for and small enough.
	Content    []byte
	HasContent bool
}

// ModeString is the mode as four octal digits: "0644".
func (p PathInfo) ModeString() string { return fmt.Sprintf("%04o", p.Mode) }

// FindPath looks for path in the results of every PathsQuery of facts. A
// record with content wins over one without.
func FindPath(f Facts, path string) (PathInfo, error) {
	var found PathInfo
	ok := false
	keys := make([]string, 0, len(f))
	for k := range f {
		if strings.HasPrefix(k, PathsKeyPrefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		out, err := f.Stdout(k)
		if err != nil {
			return PathInfo{}, err
		}
		info, hit, err := scanPaths([]byte(out), path)
		if err != nil {
			return PathInfo{}, fmt.Errorf("query %s: %w", k, err)
		}
		if hit && (!ok || info.HasContent && !found.HasContent) {
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
	m := map[string]PathInfo{}
	for len(out) > 0 {
		var fields [7][]byte
		for i := range fields {
			j := bytes.IndexByte(out, 0)
			if j < 0 {
				return nil, fmt.Errorf("truncated record after %d paths", len(m))
			}
			fields[i], out = out[:j], out[j+1:]
		}
		info, err := parseRecord(fields)
		if err != nil {
			return nil, err
		}
		m[info.Path] = info
	}
	return m, nil
}

// scanPaths finds one path without decoding the records of the others.
func scanPaths(out []byte, path string) (PathInfo, bool, error) {
	for len(out) > 0 {
		var fields [7][]byte
		for i := range fields {
			j := bytes.IndexByte(out, 0)
			if j < 0 {
				return PathInfo{}, false, fmt.Errorf("truncated record")
			}
			fields[i], out = out[:j], out[j+1:]
		}
		if string(fields[0]) == path {
			info, err := parseRecord(fields)
			return info, err == nil, err
		}
	}
	return PathInfo{}, false, nil
}

func parseRecord(f [7][]byte) (PathInfo, error) {
	info := PathInfo{Path: string(f[0])}
	switch string(f[1]) {
	case "absent":
		return info, nil
	case "error":
		return info, fmt.Errorf("inspect %s: %s", info.Path, strings.TrimSpace(string(f[2])))
	case "ok":
	default:
		return info, fmt.Errorf("record for %s has unknown state %q", info.Path, f[1])
	}
	info.Exists = true
	st := strings.SplitN(string(f[2]), "/", 7)
	if len(st) != 7 {
		return info, fmt.Errorf("record for %s: malformed stat %q", info.Path, f[2])
	}
	mode, err1 := strconv.ParseUint(st[0], 8, 32)
	uid, err2 := strconv.Atoi(st[1])
	gid, err3 := strconv.Atoi(st[2])
	size, err4 := strconv.ParseInt(st[5], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return info, fmt.Errorf("record for %s: malformed stat %q", info.Path, f[2])
	}
	info.Mode, info.UID, info.GID, info.Owner, info.Group, info.Size = uint32(mode), uid, gid, st[3], st[4], size
	switch {
	case strings.HasPrefix(st[6], "regular"):
		info.Type = "file"
	case st[6] == "directory":
		info.Type = "directory"
	case st[6] == "symbolic link":
		info.Type = "symlink"
	default:
		info.Type = "other"
	}
	info.SHA256 = string(f[3])
	info.Target = string(f[4])
	info.Empty = string(f[5]) == "1"
	if c := string(f[6]); c != "-" {
		b, err := base64.StdEncoding.DecodeString(c)
		if err != nil {
			return info, fmt.Errorf("record for %s: content: %w", info.Path, err)
		}
		info.Content, info.HasContent = b, true
	}
	return info, nil
}

// ParseMode parses an octal mode string such as "0644" or "755".
func ParseMode(s string) (uint32, error) {
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o7777 {
		return 0, fmt.Errorf("invalid mode %q: use octal digits such as \"0644\"", s)
	}
	return uint32(m), nil
}

// Describe names the type of what is at a path, for messages.
func (p PathInfo) Describe() string {
	switch p.Type {
	case "file":
		return "a regular file"
	case "directory":
		if p.Empty {
			return "an empty directory"
		}
		return "a directory"
	case "symlink":
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
			fmt.Fprintf(&b, "%s\x00absent\x00\x00\x00\x00\x00-\x00", p.Path)
			continue
		}
		f := map[string]string{"file": "regular file", "directory": "directory", "symlink": "symbolic link"}[p.Type]
		if f == "" {
			f = "fifo"
		}
		empty, content := "", "-"
		if p.Type == "directory" {
			empty = "0"
			if p.Empty {
				empty = "1"
			}
		}
		if p.HasContent {
			content = base64.StdEncoding.EncodeToString(p.Content)
		}
		fmt.Fprintf(&b, "%s\x00ok\x00%o/%d/%d/%s/%s/%d/%s\x00%s\x00%s\x00%s\x00%s\x00",
			p.Path, p.Mode, p.UID, p.GID, p.Owner, p.Group, p.Size, f, p.SHA256, p.Target, empty, content)
	}
	return b.Bytes()
}
