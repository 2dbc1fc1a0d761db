package reconcilers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// ParsePaths parses the whole output of a PathsQuery, keyed by path. The
// result holds no reference to out.
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
	// Sized by the records the output can hold (twelve fields each): it
	// is parsed on every observe of every host.
	m := make(map[string]PathInfo, bytes.Count(out, []byte{0})/12+1)
	var last names
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
		info, err := last.parseRecord(fields)
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
		contents[c.path] = bytes.Clone(b) // the result never shares out
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

// names keeps the owner, group and device of the previous record: paths
// of one host mostly share them, so a record reuses those strings instead
// of allocating its own.
type names struct{ owner, group, dev string }

func (n *names) get(prev *string, b []byte) string {
	if string(b) != *prev {
		*prev = string(b)
	}
	return *prev
}

func (n *names) parseRecord(f [12][]byte) (PathInfo, error) {
	info := PathInfo{Path: string(f[0]), Exists: true}
	mode, err1 := strconv.ParseUint(string(f[1]), 8, 32)
	uid, err2 := strconv.Atoi(string(f[2]))
	gid, err3 := strconv.Atoi(string(f[3]))
	size, err4 := strconv.ParseInt(string(f[6]), 10, 64)
	links, err5 := strconv.Atoi(string(f[9]))
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || err5 != nil {
		return info, fmt.Errorf("record for %s: malformed fields %q", info.Path, bytes.Join(f[1:7], []byte{'/'}))
	}
	info.Mode, info.UID, info.GID, info.Owner, info.Group, info.Size = FileMode(uint32(mode)), uid, gid, n.get(&n.owner, f[4]), n.get(&n.group, f[5]), size
	info.Links, info.Dev = links, n.get(&n.dev, f[10])
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
