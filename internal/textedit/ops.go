package textedit

import (
	"regexp"
	"strings"
)

// Kind is what an Op does.
type Kind string

// Kinds of edits.
const (
	// Set makes Line present: it replaces the last line equal to Old
	// (when HasOld), or else, unless Line is already there, inserts it at
	// Where.
	Set Kind = "set"
	// Delete removes every line equal to one of Lines.
	Delete Kind = "delete"
	// Block puts Lines between the first Begin line and the first End
	// line after it, or inserts Begin, Lines, End at Where when the
	// markers are not both there.
	Block Kind = "block"
	// DeleteBlock removes the first Begin line, the first End line after
	// it, and what lies between them.
	DeleteBlock Kind = "deleteblock"
)

// Where is where new lines go.
type Where string

// Places for new lines. After and Before are relative to the last line
// equal to Anchor, and mean End when there is none.
const (
	End    Where = "end"
	Start  Where = "start"
	After  Where = "after"
	Before Where = "before"
)

// Op is one edit of a file's lines.
type Op struct {
	Kind       Kind
	Line       string
	Old        string
	HasOld     bool
	Lines      []string
	Begin, End string
	Where      Where
	Anchor     string
}

// Apply returns lines with ops applied in order, as the awk program of
// Command does on the host.
func Apply(lines []string, ops ...Op) []string {
	l := append([]string(nil), lines...)
	for _, op := range ops {
		switch op.Kind {
		case Set:
			if i := lastIndex(l, op.Old); op.HasOld && i >= 0 {
				l[i] = op.Line
				continue
			}
			if lastIndex(l, op.Line) >= 0 {
				continue
			}
			l = insert(l, position(l, op.Where, op.Anchor), op.Line)
		case Delete:
			gone := map[string]bool{}
			for _, d := range op.Lines {
				gone[d] = true
			}
			kept := l[:0]
			for _, x := range l {
				if !gone[x] {
					kept = append(kept, x)
				}
			}
			l = kept
		case Block:
			if b, e := markers(l, op.Begin, op.End); b >= 0 && e >= 0 {
				l = append(l[:b+1], append(append([]string(nil), op.Lines...), l[e:]...)...)
				continue
			}
			block := append(append([]string{op.Begin}, op.Lines...), op.End)
			l = insert(l, position(l, op.Where, op.Anchor), block...)
		case DeleteBlock:
			if b, e := markers(l, op.Begin, op.End); b >= 0 && e >= 0 {
				l = append(l[:b], l[e+1:]...)
			}
		}
	}
	return l
}

// FindBlock returns the indexes of the first begin line and of the first
// end line after it; -1 for each when the pair is not there.
func FindBlock(lines []string, begin, end string) (int, int) { return markers(lines, begin, end) }

func markers(l []string, begin, end string) (int, int) {
	for b, x := range l {
		if x != begin {
			continue
		}
		for e := b + 1; e < len(l); e++ {
			if l[e] == end {
				return b, e
			}
		}
		break
	}
	return -1, -1
}

func lastIndex(l []string, s string) int {
	for i := len(l) - 1; i >= 0; i-- {
		if l[i] == s {
			return i
		}
	}
	return -1
}

// position is the index new lines are inserted at.
func position(l []string, w Where, anchor string) int {
	switch w {
	case Start:
		return 0
	case After, Before:
		if i := lastIndex(l, anchor); i >= 0 {
			if w == After {
				return i + 1
			}
			return i
		}
	}
	return len(l)
}

func insert(l []string, at int, add ...string) []string {
	out := make([]string, 0, len(l)+len(add))
	out = append(out, l[:at]...)
	out = append(out, add...)
	return append(out, l[at:]...)
}

// SplitLines splits text into lines without their newlines; a final
// newline does not start another line.
func SplitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// Join is the text of lines, each ended by a newline.
func Join(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

// Anchor turns insertAfter and insertBefore (RE2 patterns, or EOF and BOF)
// into where new lines go in lines: after or before the last line a
// pattern matches, named exactly, or at an end.
func Anchor(lines []string, insertAfter, insertBefore string) (Where, string, error) {
	pattern, w := insertAfter, After
	switch {
	case insertBefore == "BOF":
		return Start, "", nil
	case insertBefore != "":
		pattern, w = insertBefore, Before
	case insertAfter == "" || insertAfter == "EOF":
		return End, "", nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return End, "", err
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if re.MatchString(lines[i]) {
			return w, lines[i], nil
		}
	}
	return End, "", nil
}
