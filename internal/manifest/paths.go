package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// resolvePaths makes the fields a spec tags optimus:"path" absolute,
// relative to the directory of the resource's manifest, and checks that the
// files whose content is desired state (optimus:"path,input") can be read.
func resolvePaths(res *v1alpha1.Resource, report func(path, msg string)) {
	v1alpha1.WalkPaths(res.Spec, func(p *string, f v1alpha1.PathField, path string) {
		given := *p
		*p = localPath(res.Origin.Dir, given)
		if !f.Input {
			return
		}
		if err := readable(*p); err != nil {
			report(joinPath("spec", path), fmt.Sprintf("cannot read %q (relative to the manifest's directory): %v", given, err))
		}
	})
}

// localPath resolves p against dir; "~/" means the user's home directory.
func localPath(dir, p string) string {
	switch {
	case p == "":
		return ""
	case p == "~" || strings.HasPrefix(p, "~/"):
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
		return p
	case filepath.IsAbs(p):
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

func readable(p string) error {
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errors.New("no such file")
		}
		return errors.Unwrap(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	return nil
}
