package reconcilers

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"slices"
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
	// It is built on every observe of every host: one sorted slice of the
	// merged requests, and no map, keeps that cheap.
	ps := mergeRequests(reqs)
	quoted := make([]string, len(ps))
	for i := range ps {
		quoted[i] = transport.Quote(ps[i].path)
	}
	// find also lists every directory above the paths, so that plan can
	// apply the rule of safepath.go without another round trip.
	walked := make([]string, 0, 4*len(ps))
	for i := range ps {
		p := path.Clean(ps[i].path)
		if p == "/" {
			continue
		}
		walked = append(walked, "/")
		for j := 1; j < len(p); j++ {
			if p[j] == '/' {
				walked = append(walked, p[:j])
			}
		}
	}
	sort.Strings(walked)
	walked = slices.Compact(walked)
	walked = slices.DeleteFunc(walked, func(a string) bool {
		_, requested := slices.BinarySearchFunc(ps, a, func(r pathWant, a string) int { return strings.Compare(r.path, a) })
		return requested
	})
	for i, p := range walked {
		walked[i] = transport.Quote(p)
	}
	// Content: files grouped by size limit, smallest limit first.
	var limits []int64
	for i := range ps {
		if l := ps[i].limit; l > 0 && !slices.Contains(limits, l) {
			limits = append(limits, l)
		}
	}
	slices.Sort(limits)

	// The paths are written once, as the positional parameters, and every
	// section reads them from there: the script is sent on every observe.
	var b strings.Builder
	size := 2048 + 1024*len(limits)
	for i, q := range quoted {
		size += len(q) + 1
		if ps[i].unless != "" {
			size += 2 * (len(q) + 68) // in both content sections, with its sum
		}
	}
	for _, w := range walked {
		size += len(w) + 1
	}
	b.Grow(size)
	b.WriteString("LC_ALL=C; export LC_ALL\nset --")
	if len(quoted) == 0 {
		b.WriteByte(' ')
	}
	writeWords(&b, quoted)
	b.WriteString("\nfor p; do [ -e \"$p\" ] || [ -L \"$p\" ] || printf '%s\\0' \"$p\"; done; printf 'END\\0'\n")
	// One find prints the records and hands sha256sum the regular files
	// (never a symbolic link: find does not follow them) of at most
	// ChecksumLimit bytes, which it has just measured: a sparse file of a
	// terabyte would keep sha256sum reading zeros for minutes. The sums are
	// kept in the shell, so that content is read only for files whose sum
	// is not the one wanted (see contentFiles): the records go to the
	// shell's output (descriptor 4) while sha256sum writes to descriptor 3,
	// the command substitution. A walked directory that a user turned into
	// a file is hashed too, within the same bound; nothing reads its sum.
	b.WriteString("_s=\n")
	if len(ps) > 0 { // find with no path would describe the working directory
		b.WriteString("{ _s=$(find")
		writeWords(&b, walked)
		b.WriteString(" \"$@\" -maxdepth 0 -printf " + findFormat + " \\( -type f -size -" + checksumBound +
			"c -exec sh -c 'exec sha256sum -- \"$@\" >&3' sh {} + \\) 3>&1 >&4 2>/dev/null); } 4>&1\n")
	}
	b.WriteString("printf 'END\\0'\n")
	b.WriteString("[ -z \"$_s\" ] || printf '%s\\0' \"$_s\"\nprintf 'END\\0'\n")
	for i := range ps {
		if ps[i].sensitive {
			b.WriteString("printf '%s\\0' " + quoted[i] + "\n")
		}
	}
	b.WriteString("printf 'END\\0'\n")
	if len(limits) > 0 {
		b.WriteString("_nl='\n'\n")
	}
	for _, l := range limits {
		contentFiles(&b, l, ps, quoted)
		b.WriteString("[ $# -eq 0 ] || find \"$@\" -maxdepth 0 -type f -links 1 -size -" + strconv.FormatInt(l+1, 10) + "c -printf '%p\\0%s\\0' 2>/dev/null\n")
	}
	b.WriteString("printf 'END\\0'\n")
	for _, l := range limits {
		contentFiles(&b, l, ps, quoted)
		b.WriteString("[ $# -eq 0 ] || find \"$@\" -maxdepth 0 -type f -links 1 -size -" + strconv.FormatInt(l+1, 10) + "c -exec cat -- {} + 2>/dev/null\n")
	}
	b.WriteString("exit 0\n")
	script := b.String()
	sum := sha256.Sum256([]byte(script))
	return Query{Key: PathsKeyPrefix + hex.EncodeToString(sum[:8]), Script: script, Paths: reqs}
}

// checksumBound is find's -size bound (in bytes) below which a file is
// hashed: at most ChecksumLimit bytes.
var checksumBound = strconv.FormatInt(int64(ChecksumLimit)+1, 10)

// pathWant is what the requests of one path ask for together.
type pathWant struct {
	path      string
	limit     int64 // the largest ContentLimit
	sensitive bool
	// unless is the sha256 that makes the content unneeded; "" when a
	// request wants it whatever it is.
	unless string
}

// mergeRequests returns one pathWant per path, sorted by path.
func mergeRequests(reqs []PathRequest) []pathWant {
	ps := make([]pathWant, 0, len(reqs))
	for _, r := range reqs {
		ps = append(ps, pathWant{path: r.Path})
	}
	slices.SortFunc(ps, func(a, b pathWant) int { return strings.Compare(a.path, b.path) })
	ps = slices.CompactFunc(ps, func(a, b pathWant) bool { return a.path == b.path })
	// seen[i]: a request of ps[i] with a content limit was merged.
	seen := make([]bool, len(ps))
	for _, r := range reqs {
		i, _ := slices.BinarySearchFunc(ps, r.Path, func(w pathWant, p string) int { return strings.Compare(w.path, p) })
		w := &ps[i]
		w.limit = max(w.limit, r.ContentLimit)
		w.sensitive = w.sensitive || r.Sensitive
		if r.ContentLimit > 0 {
			if !seen[i] || w.unless == r.ContentUnless {
				w.unless = r.ContentUnless
			} else {
				w.unless = ""
			}
			seen[i] = true
		}
	}
	return ps
}

// writeWords writes each word after a space.
func writeWords(b *strings.Builder, words []string) {
	for _, w := range words {
		b.WriteByte(' ')
		b.WriteString(w)
	}
}

// contentFiles writes shell that sets the positional parameters to the
// files of limit l whose content is to be read: those wanted whatever their
// content, and those whose line in sha256sum's output ($_s) is not the sum
// that would make the content unneeded. Only builtins run: a no-op observe
// starts no process for content.
func contentFiles(b *strings.Builder, l int64, ps []pathWant, quoted []string) {
	b.WriteString("set --")
	n := 0
	for i := range ps {
		if ps[i].limit == l && ps[i].unless != "" {
			b.WriteByte(' ')
			b.WriteString(transport.Quote(ps[i].unless))
			b.WriteByte(' ')
			b.WriteString(quoted[i])
			n++
		}
	}
	b.WriteString("\n")
	if n > 0 {
		b.WriteString("_n=$#; while [ \"$_n\" -gt 0 ]; do case \"$_nl$_s$_nl\" in *\"$_nl$1  $2$_nl\"*) ;; *) set -- \"$@\" \"$2\" ;; esac; shift 2; _n=$((_n - 2)); done\n")
	}
	always := false
	for i := range ps {
		if ps[i].limit == l && ps[i].unless == "" {
			if !always {
				b.WriteString("set -- \"$@\"")
				always = true
			}
			b.WriteByte(' ')
			b.WriteString(quoted[i])
		}
	}
	if always {
		b.WriteString("\n")
	}
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
