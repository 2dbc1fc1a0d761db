package cli

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestNullDeviceIsNotATerminal: /dev/null is a character device, and neither
// colour, a redrawn progress line nor a confirmation prompt may take it for a
// terminal.
func TestNullDeviceIsNotATerminal(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for name, f := range map[string]*os.File{"/dev/null": null, "a pipe": w} {
		if isTerminal(f) {
			t.Errorf("%s taken for a terminal", name)
		}
		if newPrinter(f).color {
			t.Errorf("output to %s coloured", name)
		}
	}
	var out strings.Builder
	ok, err := confirmPrompt(null, &out)(context.Background(), nil)
	if ok || err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("confirmation with stdin /dev/null: ok=%v err=%v; want a refusal that names --yes", ok, err)
	}
	if out.Len() != 0 {
		t.Errorf("prompt written without a terminal to answer it: %q", out.String())
	}
}

// TestNoColor: any non-empty NO_COLOR turns colour off (https://no-color.org);
// an empty one does not.
func TestNoColor(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
	}{{"", true}, {"1", false}, {"0", false}, {"false", false}} {
		t.Setenv("NO_COLOR", tc.value)
		if got := colorWanted(true); got != tc.want {
			t.Errorf("NO_COLOR=%q on a terminal: colour %v, want %v", tc.value, got, tc.want)
		}
		if colorWanted(false) {
			t.Errorf("NO_COLOR=%q: colour without a terminal", tc.value)
		}
	}
}
