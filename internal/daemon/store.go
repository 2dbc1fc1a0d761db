package daemon

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// StatusFile is the name of the status file in the state directory.
const StatusFile = "status.json"

// saveStatus writes st atomically: a reader (or a restart after a crash)
// sees the old file or the new one, never half of one.
func saveStatus(dir string, st *v1alpha1.ControllerStatus) error {
	return writeAtomic(dir, StatusFile, func(f io.Writer) error {
		w := bufio.NewWriterSize(f, 64<<10)
		if err := encodeStatus(w, st); err != nil {
			return err
		}
		return w.Flush()
	})
}

// encodeStatus writes st as the JSON object encoding/json would, one host
// and one resource at a time: at a thousand hosts of sixty resources the
// whole document is megabytes, and encoding it in one piece would hold all
// of it in memory (twice, indented) at every write.
func encodeStatus(w io.Writer, st *v1alpha1.ControllerStatus) error {
	bw := &errWriter{w: w}
	enc := json.NewEncoder(bw)
	field := func(name string, v any) {
		bw.write(name)
		bw.encode(enc, v)
	}
	field(`{"conditions":`, st.Conditions)
	bw.write(`,"hosts":`)
	writeArray(bw, enc, st.Hosts)
	bw.write(`,"resources":`)
	writeArray(bw, enc, st.Resources)
	field(`,"updatedAt":`, st.UpdatedAt)
	if st.Version != nil {
		field(`,"version":`, st.Version)
	}
	bw.write("}\n")
	return bw.err
}

// writeArray writes items as a JSON array, encoding one item at a time.
func writeArray[T any](bw *errWriter, enc *json.Encoder, items []T) {
	if items == nil {
		bw.write("null")
		return
	}
	bw.write("[")
	for i := range items {
		if i > 0 {
			bw.write(",")
		}
		bw.encode(enc, &items[i])
	}
	bw.write("]")
}

// errWriter keeps the first write error, so that encodeStatus checks once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) write(s string) { _, _ = io.WriteString(e, s) }

func (e *errWriter) encode(enc *json.Encoder, v any) {
	if err := enc.Encode(v); err != nil && e.err == nil {
		e.err = err
	}
}

// LoadStatus reads the status saved in a state directory.
func LoadStatus(dir string) (*v1alpha1.ControllerStatus, error) {
	b, err := os.ReadFile(filepath.Join(dir, StatusFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no status in %s: has optimus-controller run with --state-dir %s?", dir, dir)
	}
	if err != nil {
		return nil, err
	}
	var st v1alpha1.ControllerStatus
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, StatusFile), err)
	}
	return &st, nil
}
