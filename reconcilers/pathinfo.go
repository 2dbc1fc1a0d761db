package reconcilers

import (
	"fmt"
	"io/fs"
	"strconv"
)

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
	for _, k := range f.memoKeys(PathsKeyPrefix) {
		m, err := parsed(f, k, ParsePaths)
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
