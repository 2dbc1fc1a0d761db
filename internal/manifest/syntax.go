package manifest

import (
	"bytes"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// syntaxError locates a YAML syntax error of data, whose previous document
// ended at line last, and rewords the common cause that YAML's own message
// hides: tabs used for indentation. next is the line of data where the
// following document starts (0 when none does), where decoding resumes.
func syntaxError(data []byte, last int, err error) (line int, msg string, next int) {
	reported, problem, hasLine := yamlErrorLine(err)
	// The broken document starts after the previous one, whatever line
	// the message gives.
	from := last + 1
	if hasLine {
		from = max(reported, from)
	}
	lines := linesThrough(data, from)
	// The broken document runs from the last document marker at or before
	// the reported line to the next one.
	start := last + 1
	for l := from; l > last && l >= 1; l-- {
		if l <= len(lines) && isDocMarker(lines[l-1]) {
			start = l
			break
		}
	}
	end := len(lines) + 1
	for l := max(from, start) + 1; l <= len(lines); l++ {
		if isDocMarker(lines[l-1]) {
			end, next = l, l
			break
		}
	}
	for l := start; l < end; l++ {
		text := lines[l-1]
		indent := text[:len(text)-len(bytes.TrimLeft(text, " \t"))]
		rest := bytes.TrimSpace(text)
		if bytes.IndexByte(indent, '\t') >= 0 && len(rest) > 0 && rest[0] != '#' {
			return l, "tabs are not allowed for indentation; use spaces", next
		}
	}
	if !hasLine {
		return start, "invalid YAML: " + problem, next
	}
	return firstFailingLine(lines[start-1:end-1], start, from), "invalid YAML: " + problem, next
}

// yamlErrorLine reads the line out of a yaml.v3 syntax error. yaml.v3 has
// no error type for syntax errors: it formats them as "yaml: line N: ...",
// so reading that text is the only way to the line. N is where the YAML
// construct that failed starts (0-based for parser errors, 1-based for
// scanner errors), not necessarily where the text stops making sense.
func yamlErrorLine(err error) (line int, problem string, ok bool) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	rest, found := strings.CutPrefix(msg, "line ")
	if !found {
		return 0, msg, false
	}
	num, problem, found := strings.Cut(rest, ": ")
	n, convErr := strconv.Atoi(num)
	if !found || convErr != nil {
		return 0, msg, false
	}
	return n, problem, true
}

// firstFailingLine returns the first line, from line from on, at which the
// document (doc, whose first line is line first of the file) stops parsing
// when cut after it: where the author's mistake most likely is, since
// yaml.v3 names where the enclosing construct starts. It returns from when
// no such line is found nearby. Only called on a syntax error.
func firstFailingLine(doc [][]byte, first, from int) int {
	if len(doc) == 0 || len(bytes.Join(doc, nil)) >= 1<<16 {
		return from
	}
	var n yaml.Node
	for l := from; l < first+len(doc) && l < from+50; l++ {
		if yaml.Unmarshal(bytes.Join(doc[:l-first+1], nil), &n) != nil {
			return l
		}
	}
	return from
}

// isDocMarker reports whether a line starts a document ("---") or ends one ("...").
func isDocMarker(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("---")) && !bytes.HasPrefix(line, []byte("...")) {
		return false
	}
	return len(line) == 3 || strings.ContainsRune(" \t\r\n", rune(line[3]))
}

// linesThrough splits data into lines (each with its newline) up to the
// first document marker after line from, or to the end: the part a syntax
// error at line from concerns, so that the work stays proportional to what
// was read since the previous error.
func linesThrough(data []byte, from int) [][]byte {
	var lines [][]byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n') + 1
		if i == 0 {
			i = len(data)
		}
		lines = append(lines, data[:i])
		data = data[i:]
		if len(lines) > from && isDocMarker(lines[len(lines)-1]) {
			break
		}
	}
	return lines
}

// lineStart is the offset of line l (1-based) in data.
func lineStart(data []byte, l int) int {
	off := 0
	for range l - 1 {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return len(data)
		}
		off += i + 1
	}
	return off
}
