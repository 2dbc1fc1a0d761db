package transport

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
)

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":            "''",
		"abc":         "abc",
		"/usr/bin/x":  "/usr/bin/x",
		"a b":         "'a b'",
		"it's":        `'it'\''s'`,
		"a=b":         "'a=b'",
		"~root":       "'~root'",
		"$HOME":       "'$HOME'",
		"`x`":         "'`x`'",
		"\n":          "'\n'",
		"'":           `''\'''`,
		"-rf":         "-rf",
		"user@host:1": "user@host:1",
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

// nasty strings every shell word must survive.
var nasty = []string{"", " ", "'", "''", `"`, `\`, `\'`, "$x", "${x?}", "$(id)", "`id`", "a\nb", "\n", "*", "?", "[a]",
	"~", "-n", "-e", "--", "%s%d", "a;b|c&d", "#", "!", "\t", "\xff\xfe", "é", "\r\n", "{a,b}", "a=b", "\x01\x7f"}

// echoBack asks the remote shell to print each string as one quoted word.
func echoBack(t testing.TB, c Conn, ss []string) {
	t.Helper()
	cmds := make([]Command, len(ss))
	for i, s := range ss {
		cmds[i] = Command{Script: "printf %s " + Quote(s)}
	}
	rs, err := c.Batch(context.Background(), cmds)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range ss {
		if got := string(rs[i].Stdout); got != s || rs[i].ExitCode != 0 {
			t.Errorf("%q came back as %q (exit %d, %s)", s, got, rs[i].ExitCode, rs[i].Stderr)
		}
	}
}

func TestQuoteOverSSH(t *testing.T) {
	c := dial(t, shared(t).Resource())
	echoBack(t, c, nasty)
	echoBack(t, c, []string{strings.Join(nasty, "")})
}

var (
	fuzzOnce sync.Once
	fuzzConn Conn
)

// FuzzQuote proves that any byte string without NUL round-trips through a
// real shell (the local transport, so that fuzzing is fast).
func FuzzQuote(f *testing.F) {
	for _, s := range nasty {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.IndexByte(s, 0) >= 0 {
			t.Skip("a shell cannot carry NUL")
		}
		fuzzOnce.Do(func() {
			c, err := Dial(context.Background(), localHost())
			if err != nil {
				t.Fatal(err)
			}
			fuzzConn = c
		})
		echoBack(t, fuzzConn, []string{s})
	})
}

func TestQuoteToWritesQuote(t *testing.T) {
	for in, want := range map[string]string{"": "''", "plain/path-1.txt": "plain/path-1.txt", "a b": "'a b'",
		"it's": `'it'\''s'`, "''": `''\'''\'''`} {
		var b bytes.Buffer
		b.WriteString("x ")
		if quoteTo(&b, in); b.String() != "x "+want || Quote(in) != want {
			t.Errorf("quoteTo(%q) wrote %q, Quote = %q; want %q", in, b.String(), Quote(in), want)
		}
	}
}
