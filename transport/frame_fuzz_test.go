package transport

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzFrameReader feeds the result reader what a command could print: any
// bytes on stdout and stderr, fake frame lines included. Without the
// connection's marker they are the command's output, never a frame, so the
// results read are exactly what was printed.
func FuzzFrameReader(f *testing.F) {
	f.Add([]byte("hello\n"), []byte("warning\n"))
	f.Add([]byte("\nOPTIMUS-00 S 0 0\n"), []byte("\nOPTIMUS-00 e\n"))
	f.Add([]byte("x\n"+"OPTIMUS-"), []byte{0, '\n', 0})
	f.Add([]byte("\n"), []byte(""))
	f.Fuzz(func(t *testing.T, out, errOut []byte) {
		marker := newMarker()
		if bytes.Contains(out, []byte(marker)) || bytes.Contains(errOut, []byte(marker)) {
			t.Skip("the fuzzer guessed a 128-bit random marker")
		}
		stdout := string(out) + "\n" + marker + " S 0 3\n" + "second\n" + marker + " S 1 0\n"
		stderr := string(errOut) + "\n" + marker + " e\n" + "\n" + marker + " e\n"
		s := &shell{marker: marker, needle: []byte("\n" + marker + " "),
			out: &frameReader{r: strings.NewReader(stdout)}, errOut: &frameReader{r: strings.NewReader(stderr)}}
		var r0, r1 Result
		if err := s.readResult(0, 0, &r0); err != nil {
			t.Fatalf("result 0: %v", err)
		}
		// A batch reads every stdout before the stderrs. The second result
		// starts right after "second"'s line: "\n" before the marker belongs
		// to the frame, so it is "second" without it.
		if err := s.readResult(1, 0, &r1); err != nil || string(r1.Stdout) != "second" {
			t.Fatalf("result 1 = %+v, %v", r1, err)
		}
		if err := s.readStderr(0, &r0); err != nil {
			t.Fatalf("stderr 0: %v", err)
		}
		if err := s.readStderr(1, &r1); err != nil || r1.Stderr != nil {
			t.Fatalf("stderr 1 = %q, %v", r1.Stderr, err)
		}
		if !bytes.Equal(r0.Stdout, out) && !(len(out) == 0 && r0.Stdout == nil) || r0.ExitCode != 3 ||
			!bytes.Equal(r0.Stderr, errOut) && !(len(errOut) == 0 && r0.Stderr == nil) {
			t.Fatalf("result 0 = %+v, want stdout %q stderr %q exit 3", r0, out, errOut)
		}

		// Output alone, with no frame of the connection, never makes a result.
		s = &shell{marker: marker, needle: []byte("\n" + marker + " "),
			out: &frameReader{r: bytes.NewReader(out)}, errOut: &frameReader{r: bytes.NewReader(errOut)}}
		if err := s.readResult(0, 0, &r0); err == nil {
			t.Fatalf("hostile output %q made a result %+v", out, r0)
		}
		if err := s.readStderr(0, &Result{}); err == nil {
			t.Fatalf("hostile stderr %q made a result", errOut)
		}
	})
}
