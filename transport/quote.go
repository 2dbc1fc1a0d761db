package transport

import (
	"bytes"
	"strings"
)

// Quote returns s as one word for a POSIX shell: unchanged when it holds
// only characters no shell treats specially, otherwise in single quotes,
// where only a single quote needs care: it closes the quotes, is escaped
// with a backslash, and reopens them. Every byte string without NUL
// round-trips; a shell cannot carry NUL at all.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if isSafeWord(s) {
		return s
	}
	var b bytes.Buffer
	b.Grow(len(s) + 2)
	quoteTo(&b, s)
	return b.String()
}

// quoteTo writes Quote(s) to b without building the quoted copy: a batch
// quotes scripts of kilobytes on every round trip.
func quoteTo(b *bytes.Buffer, s string) {
	if s == "" {
		b.WriteString("''")
		return
	}
	if isSafeWord(s) {
		b.WriteString(s)
		return
	}
	b.WriteByte('\'')
	for {
		i := strings.IndexByte(s, '\'')
		if i < 0 {
			break
		}
		b.WriteString(s[:i])
		b.WriteString(`'\''`)
		s = s[i+1:]
	}
	b.WriteString(s)
	b.WriteByte('\'')
}

// isSafeWord reports whether s needs no quoting. '=' and '~' are left out:
// they turn a word into an assignment or a home directory.
func isSafeWord(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("_-./:@%+,", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// quoteArgs quotes each argument and joins them into one command line.
func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = Quote(a)
	}
	return strings.Join(q, " ")
}
