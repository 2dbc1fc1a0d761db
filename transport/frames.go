package transport

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// frameReader reads a byte stream cut by marker lines. Its buffer is
// borrowed from readBuffers while a batch is read and given back after it,
// so that an idle connection (optimus-controller keeps one per host) holds
// no read buffer.
type frameReader struct {
	r          io.Reader
	buf        []byte // buf[start:end] is read and not yet consumed
	start, end int
}

// readBufferSize is the size of a pooled read buffer: a host's observe
// output usually fits, and a larger one grows a buffer of its own.
const readBufferSize = 32 << 10

// minRead is the least free space a read is given.
const minRead = 4 << 10

var readBuffers = sync.Pool{New: func() any {
	b := make([]byte, readBufferSize)
	return &b
}}

// readUntil returns the bytes before sep and consumes sep. Protocol lines
// and what the shell prints before it is ready are short: more than
// maxProtocolRead bytes without sep is an error, not a buffer that grows.
func (f *frameReader) readUntil(sep []byte) ([]byte, error) {
	out, n, err := f.readUntilMax(sep, maxProtocolRead)
	if err == nil && n > int64(len(out)) {
		return nil, &protocolBroken{msg: fmt.Sprintf("more than %d bytes without a frame line", maxProtocolRead)}
	}
	return out, err
}

// maxProtocolRead bounds the reads of readUntil.
const maxProtocolRead = 1 << 20

// readUntilMax returns at most limit of the bytes before sep and consumes
// them all and sep; n is how many there were. The bytes past limit are read
// and dropped as they come, so that what a host sends never holds more than
// limit (and a buffer) in memory, however much it sends.
func (f *frameReader) readUntilMax(sep []byte, limit int) (out []byte, n int64, err error) {
	searched := 0 // bytes of the pending data known not to hold sep
	var kept []byte
	for {
		pending := f.buf[f.start:f.end]
		if i := bytes.Index(pending[searched:], sep); i >= 0 {
			end := searched + i
			n += int64(end)
			take := pending[:min(end, limit-len(kept))]
			if kept == nil {
				kept = bytes.Clone(take)
			} else {
				kept = appendKept(kept, take, limit)
			}
			f.start += end + len(sep)
			return kept, n, nil
		}
		searched = max(0, len(pending)-len(sep)+1)
		// A long output moves out of the buffer as it comes: kept up to
		// the limit, the rest dropped, and the buffer never grows.
		if searched >= readBufferSize/2 {
			kept = appendKept(kept, pending[:min(searched, limit-len(kept))], limit)
			n += int64(searched)
			f.start += searched
			searched = 0
		}
		if err := f.fill(); err != nil {
			return nil, n, err
		}
	}
}

// appendKept appends b to kept, growing it no further than limit.
func appendKept(kept, b []byte, limit int) []byte {
	if need := len(kept) + len(b); need > cap(kept) {
		grown := make([]byte, len(kept), min(max(2*cap(kept), need, readBufferSize), max(limit, need)))
		copy(grown, kept)
		kept = grown
	}
	return append(kept, b...)
}

// readLine returns the rest of the line without its newline.
func (f *frameReader) readLine() (string, error) {
	b, err := f.readUntil([]byte{'\n'})
	return string(b), err
}

// fill reads more of the stream after the pending bytes, moving them to the
// front of the buffer or into a larger one when there is no room.
func (f *frameReader) fill() error {
	if f.buf == nil {
		f.buf = *readBuffers.Get().(*[]byte)
	}
	if len(f.buf)-f.end < minRead {
		pending := f.end - f.start
		if len(f.buf)-pending < minRead {
			grown := make([]byte, 2*len(f.buf))
			copy(grown, f.buf[f.start:f.end])
			f.buf = grown
		} else {
			copy(f.buf, f.buf[f.start:f.end])
		}
		f.start, f.end = 0, pending
	}
	n, err := f.r.Read(f.buf[f.end:])
	f.end += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// release gives the buffer back once everything read has been consumed,
// as at the end of a batch.
func (f *frameReader) release() {
	if f.buf == nil || f.start < f.end {
		return
	}
	if len(f.buf) == readBufferSize {
		b := f.buf
		readBuffers.Put(&b)
	}
	f.buf, f.start, f.end = nil, 0, 0
}
