package reconcilers

import (
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"testing"
)

// applyUnified rebuilds after from before and a unified diff, strictly: every
// context and removed line must be, byte for byte, where its hunk says.
func applyUnified(before, diff string) (string, error) {
	src := strings.SplitAfter(before, "\n")
	if src[len(src)-1] == "" {
		src = src[:len(src)-1]
	}
	lines := strings.SplitAfter(diff, "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "--- ") || !strings.HasPrefix(lines[1], "+++ ") {
		return "", fmt.Errorf("no file header in %q", diff)
	}
	type entry struct {
		kind byte
		text string
		hunk int // for '@': the first line of the hunk in before
	}
	var entries []entry
	for _, l := range lines[2:] {
		switch {
		case l == "":
		case l == "\\ No newline at end of file\n" && len(entries) > 0:
			entries[len(entries)-1].text = strings.TrimSuffix(entries[len(entries)-1].text, "\n")
		case strings.HasPrefix(l, "@@ -"):
			from := strings.Fields(l)[1][1:]
			start, count, _ := strings.Cut(from, ",")
			n, err := strconv.Atoi(start)
			if err != nil {
				return "", fmt.Errorf("bad hunk header %q", l)
			}
			if count == "0" {
				n++ // an empty range names the line before it
			}
			entries = append(entries, entry{kind: '@', hunk: n})
		case l[0] == ' ' || l[0] == '-' || l[0] == '+':
			entries = append(entries, entry{kind: l[0], text: l[1:]})
		default:
			return "", fmt.Errorf("unexpected line %q", l)
		}
	}
	var out strings.Builder
	next := 0 // src[next] is the first line not yet used
	for _, e := range entries {
		switch e.kind {
		case '@':
			if e.hunk-1 < next || e.hunk-1 > len(src) {
				return "", fmt.Errorf("hunk at line %d out of order", e.hunk)
			}
			for ; next < e.hunk-1; next++ {
				out.WriteString(src[next])
			}
		case ' ', '-':
			if next >= len(src) || src[next] != e.text {
				return "", fmt.Errorf("line %d of before is not %q", next+1, e.text)
			}
			if e.kind == ' ' {
				out.WriteString(e.text)
			}
			next++
		case '+':
			out.WriteString(e.text)
		}
	}
	for ; next < len(src); next++ {
		out.WriteString(src[next])
	}
	return out.String(), nil
}

// TestUnifiedDiffApplies: for random edits of random files, with and without
// a final newline, the diff rebuilds the new content from the old.
func TestUnifiedDiffApplies(t *testing.T) {
	r := rand.New(rand.NewSource(25))
	text := func(n int) []string {
		lines := make([]string, n)
		for i := range lines {
			lines[i] = string(rune('a'+r.Intn(4))) + "\n"
		}
		return lines
	}
	join := func(lines []string) string {
		s := strings.Join(lines, "")
		if s != "" && r.Intn(4) == 0 {
			s = strings.TrimSuffix(s, "\n")
		}
		return s
	}
	for i := range 3000 {
		a := text(r.Intn(40))
		b := append([]string(nil), a...)
		for range 1 + r.Intn(4) {
			j := r.Intn(len(b) + 1)
			switch {
			case r.Intn(3) == 0 || j == len(b):
				b = append(b[:j], append([]string{"new\n"}, b[j:]...)...)
			case r.Intn(2) == 0:
				b = append(b[:j], b[j+1:]...)
			default:
				b[j] = "changed\n"
			}
		}
		if i%10 == 0 {
			b = text(r.Intn(40))
		}
		before, after := join(a), join(b)
		d := UnifiedDiff("f", before, after)
		if (d == "") != (before == after) {
			t.Fatalf("diff %q -> %q is %q", before, after, d)
		}
		if d == "" {
			continue
		}
		got, err := applyUnified(before, d)
		if err != nil || got != after {
			t.Fatalf("diff %q -> %q does not apply (%v, got %q):\n%s", before, after, err, got, d)
		}
	}
}

// TestUnifiedDiffLargeFile: a file at the File kind's diff limit with every
// line changed still gives a diff that applies.
func TestUnifiedDiffLargeFile(t *testing.T) {
	var a, b strings.Builder
	for i := 0; a.Len() < 64<<10; i++ {
		fmt.Fprintf(&a, "line %d\n", i)
		fmt.Fprintf(&b, "line %d changed\n", i)
	}
	d := UnifiedDiff("big", a.String(), b.String())
	if got, err := applyUnified(a.String(), d); err != nil || got != b.String() {
		t.Fatalf("large diff does not apply: %v", err)
	}
}
