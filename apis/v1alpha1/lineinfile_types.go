package v1alpha1

import (
	"fmt"
	"strings"
)

// LineInFileSpec keeps lines of a text file present or absent: one line
// (line, regexp, insertAfter) or several (lines), edited, validated and
// written as one change.
type LineInFileSpec struct {
	Targeting `json:",inline"`
	// Path is the absolute path of the file.
	Path string `json:"path" validate:"required,abspath"`
	// Line is the exact line wanted (state present). Exclusive with lines.
	Line string `json:"line,omitempty" validate:"excludes=\n"`
	// Regexp (Go RE2 syntax) finds the line to replace, or to remove when state is absent.
	Regexp string `json:"regexp,omitempty" validate:"omitempty,regexp"`
	// InsertAfter (Go RE2 syntax, or EOF): a new line goes after the last line matching it. Absent: at the end.
	InsertAfter string `json:"insertAfter,omitempty" validate:"omitempty,regexp"`
	// InsertBefore (Go RE2 syntax, or BOF): a new line goes before the last line matching it; BOF: first.
	InsertBefore string `json:"insertBefore,omitempty" validate:"omitempty,regexp"`
	// Lines are several lines of the file, each with its own line, regexp,
	// insertAfter, insertBefore and state (default: the resource's). They
	// are edited in order and validated and written as one change:
	// "[{regexp: '^#?PermitRootLogin', line: 'PermitRootLogin no'}, ...]".
	Lines []LineSpec `json:"lines,omitempty" validate:"omitempty,max=1000,dive"`
	// State is present (default) or absent: absent removes the lines that
	// line or regexp find.
	State string `json:"state,omitempty" validate:"omitempty,oneof=present absent"`
	// Create makes the file (empty, mode 0644 unless mode says otherwise)
	// when it does not exist. Without it a missing file fails the resource.
	Create bool `json:"create,omitempty"`
	// Validate checks the edited content before it is installed, as File's
	// validate does: "sshd -t -f %s", "visudo -cf %s". On failure the file
	// is unchanged.
	Validate string `json:"validate,omitempty" validate:"excludesall=\n\r"`
	// Mode is the permission bits in octal, as a string: "0644". Absent: left as it is.
	Mode string `json:"mode,omitempty" validate:"omitempty,filemode"`
	// Owner is the owning user name. Absent: left as it is.
	Owner string `json:"owner,omitempty" validate:"omitempty,max=32,unixname"`
	// Group is the owning group name. Absent: left as it is.
	Group string `json:"group,omitempty" validate:"omitempty,max=32,unixname"`
}

// LineSpec is one line of a LineInFile's lines.
type LineSpec struct {
	// Line is the exact line wanted (state present).
	Line string `json:"line,omitempty" validate:"excludes=\n"`
	// Regexp (Go RE2 syntax) finds the line to replace, or to remove when state is absent.
	Regexp string `json:"regexp,omitempty" validate:"omitempty,regexp"`
	// InsertAfter (Go RE2 syntax, or EOF): a new line goes after the last line matching it.
	InsertAfter string `json:"insertAfter,omitempty" validate:"omitempty,regexp"`
	// InsertBefore (Go RE2 syntax, or BOF): a new line goes before the last line matching it.
	InsertBefore string `json:"insertBefore,omitempty" validate:"omitempty,regexp"`
	// State is present or absent. Default: the resource's state.
	State string `json:"state,omitempty" validate:"omitempty,oneof=present absent"`
}

// Default fills in defaults.
func (s *LineInFileSpec) Default(_ *ObjectMeta) {
	if s.State == "" {
		s.State = StatePresent
	}
	for i := range s.Lines {
		if s.Lines[i].State == "" {
			s.Lines[i].State = s.State
		}
	}
}

// Entries returns the lines the resource manages: lines, or the one line
// the single-line form describes.
func (s *LineInFileSpec) Entries() []LineSpec {
	if len(s.Lines) > 0 {
		return s.Lines
	}
	return []LineSpec{{Line: s.Line, Regexp: s.Regexp, InsertAfter: s.InsertAfter, InsertBefore: s.InsertBefore, State: s.State}}
}

// Check requires one of the two forms, a line for each line that must be
// present, and %s in validate.
func (s *LineInFileSpec) Check() []FieldError {
	var errs []FieldError
	single := s.Line != "" || s.Regexp != "" || s.InsertAfter != "" || s.InsertBefore != ""
	switch {
	case len(s.Lines) > 0 && single:
		errs = append(errs, FieldError{Path: "lines", Message: "must not be set together with line, regexp, insertAfter or insertBefore: move them into lines"})
	case len(s.Lines) == 0:
		errs = append(errs, checkLine(s.Entries()[0], "")...)
	}
	for i, l := range s.Lines {
		errs = append(errs, checkLine(l, fmt.Sprintf("lines[%d].", i))...)
	}
	if s.Validate != "" && !strings.Contains(s.Validate, "%s") {
		errs = append(errs, FieldError{Path: "validate", Message: `must contain %s where the edited content's temporary path goes, such as "sshd -t -f %s"`})
	}
	return errs
}

func checkLine(l LineSpec, prefix string) []FieldError {
	var errs []FieldError
	switch {
	case l.State == StateAbsent && l.Line == "" && l.Regexp == "":
		errs = append(errs, FieldError{Path: prefix + "line", Message: "is required with state absent unless regexp is set: it names the line to remove"})
	case l.State != StateAbsent && l.Line == "":
		errs = append(errs, FieldError{Path: prefix + "line", Message: "is required unless state is absent"})
	}
	if l.InsertAfter != "" && l.InsertBefore != "" {
		errs = append(errs, FieldError{Path: prefix + "insertBefore", Message: "must not be set together with insertAfter"})
	}
	return errs
}

// Insertion anchors that name an end of the file rather than a pattern.
const (
	EndOfFile       = "EOF"
	BeginningOfFile = "BOF"
)

// BlockInFileSpec keeps a block of lines, between two marker lines, in a
// text file.
type BlockInFileSpec struct {
	Targeting `json:",inline"`
	// Path is the absolute path of the file.
	Path string `json:"path" validate:"required,abspath"`
	// Block is the text between the markers; a final newline is ignored.
	Block string `json:"block,omitempty" validate:"required_unless=State absent,max=65536"`
	// Marker is the marker line, where {mark} becomes markerBegin or
	// markerEnd. Default: "# {mark} OPTIMUS MANAGED BLOCK <metadata.name>".
	// Use the comment syntax of the file: "<!-- {mark} app -->".
	Marker string `json:"marker,omitempty" validate:"excludes=\n"`
	// MarkerBegin replaces {mark} in the first marker line. Default: BEGIN.
	MarkerBegin string `json:"markerBegin,omitempty" validate:"excludes=\n"`
	// MarkerEnd replaces {mark} in the last marker line. Default: END.
	MarkerEnd string `json:"markerEnd,omitempty" validate:"excludes=\n"`
	// InsertAfter (Go RE2 syntax, or EOF): a new block goes after the last
	// line matching it. Absent: at the end. A block already there stays
	// where it is.
	InsertAfter string `json:"insertAfter,omitempty" validate:"omitempty,regexp"`
	// InsertBefore (Go RE2 syntax, or BOF): a new block goes before the
	// last line matching it; BOF: first.
	InsertBefore string `json:"insertBefore,omitempty" validate:"omitempty,regexp"`
	// State is present (default) or absent: absent removes the markers and
	// what lies between them.
	State string `json:"state,omitempty" validate:"omitempty,oneof=present absent"`
	// Create makes the file (mode 0644 unless mode says otherwise) when it
	// does not exist. Without it a missing file fails the resource.
	Create bool `json:"create,omitempty"`
	// Validate checks the edited content before it is installed, as File's
	// validate does: "sshd -t -f %s". On failure the file is unchanged.
	Validate string `json:"validate,omitempty" validate:"excludesall=\n\r"`
	// Mode is the permission bits in octal, as a string: "0644". Absent: left as it is.
	Mode string `json:"mode,omitempty" validate:"omitempty,filemode"`
	// Owner is the owning user name. Absent: left as it is.
	Owner string `json:"owner,omitempty" validate:"omitempty,max=32,unixname"`
	// Group is the owning group name. Absent: left as it is.
	Group string `json:"group,omitempty" validate:"omitempty,max=32,unixname"`
}

// Default fills in defaults.
func (s *BlockInFileSpec) Default(meta *ObjectMeta) {
	if s.State == "" {
		s.State = StatePresent
	}
	if s.Marker == "" && meta != nil {
		s.Marker = "# {mark} OPTIMUS MANAGED BLOCK " + meta.Name
	}
	if s.MarkerBegin == "" {
		s.MarkerBegin = "BEGIN"
	}
	if s.MarkerEnd == "" {
		s.MarkerEnd = "END"
	}
}

// Markers returns the first and last marker lines.
func (s *BlockInFileSpec) Markers() (begin, end string) {
	return strings.ReplaceAll(s.Marker, "{mark}", s.MarkerBegin), strings.ReplaceAll(s.Marker, "{mark}", s.MarkerEnd)
}

// BlockLines returns the lines of the block.
func (s *BlockInFileSpec) BlockLines() []string {
	if s.Block == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s.Block, "\n"), "\n")
}

// Check requires two different marker lines that no line of the block
// repeats, at most one insertion point, and %s in validate.
func (s *BlockInFileSpec) Check() []FieldError {
	var errs []FieldError
	begin, end := s.Markers()
	switch {
	case !strings.Contains(s.Marker, "{mark}"):
		errs = append(errs, FieldError{Path: "marker", Message: `must contain {mark}, where markerBegin and markerEnd go: "# {mark} OPTIMUS MANAGED BLOCK app"`})
	case begin == end:
		errs = append(errs, FieldError{Path: "markerEnd", Message: "must differ from markerBegin"})
	}
	for i, l := range s.BlockLines() {
		if l == begin || l == end {
			errs = append(errs, FieldError{Path: "block", Message: fmt.Sprintf("line %d is a marker line; the block would not be found again", i+1)})
		}
	}
	if s.InsertAfter != "" && s.InsertBefore != "" {
		errs = append(errs, FieldError{Path: "insertBefore", Message: "must not be set together with insertAfter"})
	}
	if s.Validate != "" && !strings.Contains(s.Validate, "%s") {
		errs = append(errs, FieldError{Path: "validate", Message: `must contain %s where the edited content's temporary path goes, such as "sshd -t -f %s"`})
	}
	return errs
}
