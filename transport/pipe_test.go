package transport

import (
	"bytes"
	"io"
	"testing"
)

// TestPipeBufferBoundsASegment: a command that floods its stderr while
// nothing reads it costs the buffer its bound, not the flood, and the frame
// lines that end each command's stderr all come through, even one cut
// between two writes.
func TestPipeBufferBoundsASegment(t *testing.T) {
	sep := []byte("\nOPTIMUS-0123 ")
	p := newPipeBuffer(sep, 1000)
	chunk := bytes.Repeat([]byte("x"), 4096)
	for range 256 { // 1 MiB, unread
		p.Write(chunk)
		if len(p.buf) > 1000+len(sep) {
			t.Fatalf("buffer holds %d bytes", len(p.buf))
		}
	}
	p.Write([]byte("\nOPTIMUS-01"))
	p.Write([]byte("23 e\nsecond"))
	p.Write(sep)
	p.Write([]byte("e\n"))
	p.closeWithError(io.EOF)
	f := &frameReader{r: p}
	first, n, err := f.readUntilMax(sep, 500)
	if err != nil || len(first) != 500 || n <= 1000 {
		t.Fatalf("first segment: kept %d of %d bytes, %v", len(first), n, err)
	}
	if line, err := f.readLine(); line != "e" || err != nil {
		t.Fatalf("frame line %q, %v", line, err)
	}
	if second, _, err := f.readUntilMax(sep, 500); string(second) != "second" || err != nil {
		t.Fatalf("second segment %q, %v", second, err)
	}
}
