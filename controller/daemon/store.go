package daemon

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// StatusFile is the name of the status file in the state directory.
const StatusFile = "status.json"

// saveStatus writes st atomically: a reader (or a restart after a crash)
// sees the old file or the new one, never half of one. The JSON is compact
// and streamed to the file: at a thousand hosts of sixty resources an
// indented copy made in memory first would be tens of megabytes of garbage
// per write.
func saveStatus(dir string, st *v1alpha1.ControllerStatus) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".status-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 64<<10)
	if err := json.NewEncoder(w).Encode(st); err != nil {
		tmp.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, StatusFile))
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
