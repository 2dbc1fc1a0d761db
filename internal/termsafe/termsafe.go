package termsafe

import (
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Text returns s with every character a terminal would interpret written
// as a visible escape, except newline and tab. Invalid UTF-8 bytes are
// written as \xNN. Text that needs no escape is returned as it is.
func Text(s string) string { return escape(s, true) }

// Line is Text for a value shown on one line: newlines and tabs are
// escaped too (\n, \t), so the value cannot start a line of its own.
func Line(s string) string { return escape(s, false) }

// Bytes is Text for a byte slice.
func Bytes(b []byte) string { return escape(string(b), true) }

func escape(s string, layout bool) string {
	i := firstUnsafe(s, layout)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			writeByte(&b, s[i])
		} else if needsEscape(r, layout) {
			writeRune(&b, r)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// firstUnsafe is the index of the first byte that needs an escape, or -1.
func firstUnsafe(s string, layout bool) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && !(layout && (c == '\n' || c == '\t')) || c == 0x7f {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || needsEscape(r, layout) {
			return i
		}
		i += n
	}
	return -1
}

// needsEscape reports whether r must be escaped.
func needsEscape(r rune, layout bool) bool {
	switch {
	case r == '\n' || r == '\t':
		return !layout
	case r < 0x20 || r == 0x7f: // C0 (ESC, BEL, CR, ...) and DEL
		return true
	case r >= 0x80 && r <= 0x9f: // C1, CSI and OSC among them
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f: // bidi marks
		return true
	case r >= 0x202a && r <= 0x202e: // bidi embeddings and overrides
		return true
	case r >= 0x2066 && r <= 0x2069: // bidi isolates
		return true
	}
	return false
}

func writeByte(b *strings.Builder, c byte) {
	const hex = "0123456789abcdef"
	b.WriteString(`\x`)
	b.WriteByte(hex[c>>4])
	b.WriteByte(hex[c&0xf])
}

func writeRune(b *strings.Builder, r rune) {
	switch {
	case r == '\n':
		b.WriteString(`\n`)
	case r == '\t':
		b.WriteString(`\t`)
	case r == '\r':
		b.WriteString(`\r`)
	case r < utf8.RuneSelf:
		writeByte(b, byte(r))
	default:
		b.WriteString(`\u`)
		h := strconv.FormatInt(int64(r), 16)
		b.WriteString(strings.Repeat("0", 4-len(h)))
		b.WriteString(h)
	}
}

// Writer returns a writer that writes Text of everything written to it to
// w. A character cut between two writes is held until the next write;
// Close writes what is held (escaped, when it never completed).
func Writer(w io.Writer) io.WriteCloser { return &writer{w: w} }

type writer struct {
	w    io.Writer
	held []byte // the start of a UTF-8 sequence cut by the end of a write
}

func (t *writer) Write(p []byte) (int, error) {
	n := len(p)
	buf := append(t.held, p...)
	t.held = nil
	// Hold back an incomplete UTF-8 sequence at the end.
	cut := len(buf)
	for i := len(buf) - 1; i >= 0 && i >= len(buf)-utf8.UTFMax; i-- {
		if utf8.RuneStart(buf[i]) {
			if !utf8.FullRune(buf[i:]) {
				cut = i
			}
			break
		}
	}
	t.held = append([]byte(nil), buf[cut:]...)
	if _, err := io.WriteString(t.w, escape(string(buf[:cut]), true)); err != nil {
		return 0, err
	}
	return n, nil
}

func (t *writer) Close() error {
	if len(t.held) == 0 {
		return nil
	}
	held := t.held
	t.held = nil
	_, err := io.WriteString(t.w, escape(string(held), true))
	return err
}
