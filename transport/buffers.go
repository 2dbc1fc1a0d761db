package transport

import (
	"bytes"
	"sync"
)

// pipeBuffer is an in-memory pipe whose writes never block (so the shell's
// stderr is always drained, even between batches, and even while a batch's
// stdout is read), and reads wait for data or the end. It is bounded by
// segment: of the bytes written after the last sep (a frame line that ends
// a command's stderr), only the first max and the last len(sep)-1 (which
// may start the next sep) are kept, so a command that floods its stderr
// costs max bytes, and the reader still sees every sep and that bytes
// were dropped.
type pipeBuffer struct {
	mu   sync.Mutex
	cond *sync.Cond
	buf  []byte
	err  error
	sep  []byte
	max  int
	seg  int // where the current segment starts in buf
}

func newPipeBuffer(sep []byte, max int) *pipeBuffer {
	p := &pipeBuffer{sep: sep, max: max}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *pipeBuffer) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	from := max(p.seg, len(p.buf)-len(p.sep)+1)
	p.buf = append(p.buf, b...)
	for {
		i := bytes.Index(p.buf[from:], p.sep)
		if i < 0 {
			break
		}
		p.seg = from + i + len(p.sep)
		from = p.seg
	}
	tail := len(p.sep) - 1
	if over := len(p.buf) - p.seg - p.max - tail; over > 0 {
		drop := p.seg + p.max
		p.buf = append(p.buf[:drop], p.buf[drop+over:]...)
	}
	p.cond.Broadcast()
	return len(b), nil
}

func (p *pipeBuffer) closeWithError(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err = err
	p.cond.Broadcast()
}

func (p *pipeBuffer) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.buf) == 0 && p.err == nil {
		p.cond.Wait()
	}
	if len(p.buf) == 0 {
		return 0, p.err
	}
	n := copy(b, p.buf)
	p.buf = p.buf[n:]
	p.seg = max(0, p.seg-n)
	if len(p.buf) == 0 {
		p.buf = nil
	}
	return n, nil
}

// tailBuffer keeps the end of the shell's own stderr for error messages and
// reports each occurrence of watch (sudo's prompt).
type tailBuffer struct {
	mu    sync.Mutex
	max   int
	buf   []byte
	watch []byte
	seen  chan<- struct{}
	carry []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if len(t.watch) > 0 {
		scan := append(t.carry, p...)
		for {
			i := bytes.Index(scan, t.watch)
			if i < 0 {
				break
			}
			scan = scan[i+len(t.watch):]
			select {
			case t.seen <- struct{}{}:
			default:
			}
		}
		t.carry = bytes.Clone(scan[max(0, len(scan)-len(t.watch)+1):])
		// The prompt is not an error message.
		p = bytes.ReplaceAll(p, t.watch, nil)
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return n, nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
