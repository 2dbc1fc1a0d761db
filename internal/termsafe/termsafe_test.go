package termsafe

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestText(t *testing.T) {
	for _, c := range []struct{ in, text, line string }{
		{"plain /etc/motd", "plain /etc/motd", "plain /etc/motd"},
		{"é ü 日本 ✓", "é ü 日本 ✓", "é ü 日本 ✓"},
		{"a\nb\tc", "a\nb\tc", `a\nb\tc`},
		{"\x1b[2J\x1b[H", `\x1b[2J\x1b[H`, `\x1b[2J\x1b[H`},
		{"\x1b]0;owned\x07", `\x1b]0;owned\x07`, `\x1b]0;owned\x07`},
		{"fake\r ALL GOOD", `fake\r ALL GOOD`, `fake\r ALL GOOD`},
		{"del\x7f nul\x00", `del\x7f nul\x00`, `del\x7f nul\x00`},
		{"csi\u009b2J osc\u009d0;x\u009c", `csi\u009b2J osc\u009d0;x\u009c`, `csi\u009b2J osc\u009d0;x\u009c`},
		{"evil\u202egnp.exe", `evil\u202egnp.exe`, `evil\u202egnp.exe`},
		{"iso\u2066x\u2069 mark\u200f", `iso\u2066x\u2069 mark\u200f`, `iso\u2066x\u2069 mark\u200f`},
		{"bad \xff\xfe utf8 \xc2", `bad \xff\xfe utf8 \xc2`, `bad \xff\xfe utf8 \xc2`},
		{`a \x1b stays`, `a \x1b stays`, `a \x1b stays`},
	} {
		if got := Text(c.in); got != c.text {
			t.Errorf("Text(%q) = %q, want %q", c.in, got, c.text)
		}
		if got := Line(c.in); got != c.line {
			t.Errorf("Line(%q) = %q, want %q", c.in, got, c.line)
		}
	}
}

func TestWriterHoldsCutCharacters(t *testing.T) {
	in := []byte("ok é\u202e\x1b[31m日本\nend\xe6")
	for split := 0; split <= len(in); split++ {
		var out bytes.Buffer
		w := Writer(&out)
		w.Write(in[:split])
		w.Write(in[split:])
		w.Close()
		if want := Bytes(in); out.String() != want {
			t.Fatalf("split at %d: %q, want %q", split, out.String(), want)
		}
	}
}

// checkSafe fails when out holds anything a terminal would interpret.
func checkSafe(t *testing.T, in, out string, layout bool) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("escape(%q) = %q: not valid UTF-8", in, out)
	}
	for _, r := range out {
		if needsEscape(r, layout) {
			t.Fatalf("escape(%q) = %q: holds %U", in, out, r)
		}
	}
	if firstUnsafe(in, layout) < 0 && out != in {
		t.Fatalf("escape(%q) = %q: changed safe text", in, out)
	}
}

func FuzzText(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b]0;t\x07", "a\r\nb", "\u202e", "\xc2\x9b", "\xff", "日本\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkSafe(t, s, Text(s), true)
		checkSafe(t, s, Line(s), false)
		if strings.ContainsAny(Line(s), "\n\t") {
			t.Fatalf("Line(%q) kept a newline or tab", s)
		}
		// Streamed in two pieces, the result is the same.
		for _, cut := range []int{len(s) / 2, len(s) / 3} {
			var out bytes.Buffer
			w := Writer(&out)
			w.Write([]byte(s[:cut]))
			w.Write([]byte(s[cut:]))
			w.Close()
			if out.String() != Text(s) {
				t.Fatalf("Writer(%q) cut at %d = %q, want %q", s, cut, out.String(), Text(s))
			}
		}
	})
}
