package daemon

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watch reports on changed when anything under dir that could be a manifest
// changes, debounced so an editor's burst of writes (temp file, rename over,
// truncate then write) is one reload. fsnotify is not recursive, so every
// directory is added, including ones created later.
func watch(ctx context.Context, dir string, debounce time.Duration, log *slog.Logger, changed chan<- struct{}) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	addTree := func(root string) {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				if err := w.Add(p); err != nil {
					log.Warn("cannot watch directory", "dir", p, "err", err)
				}
			}
			return nil
		})
	}
	addTree(dir)
	go func() {
		defer w.Close()
		var timer <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if ev.Has(fsnotify.Create) {
					if st, err := os.Stat(ev.Name); err == nil && st.IsDir() {
						addTree(ev.Name)
						timer = time.After(debounce)
						continue
					}
				}
				if relevant(ev.Name) {
					timer = time.After(debounce)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				log.Warn("watch error", "err", err)
			case <-timer:
				timer = nil
				select {
				case changed <- struct{}{}:
				default: // a reload is already pending
				}
			}
		}
	}()
	return nil
}

// relevant reports whether a changed path can affect the desired state:
// manifests and the files they name as sources, not editors' swap, backup
// and temporary files.
func relevant(path string) bool {
	base := filepath.Base(path)
	return !strings.HasPrefix(base, ".") && !strings.HasSuffix(base, "~") &&
		!strings.HasSuffix(base, ".swp") && !strings.HasSuffix(base, ".tmp")
}
