package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// resolvePaths makes the paths that name files on the machine running
// optimus absolute, relative to the manifest's directory, and checks that a
// File's source can be read.
func resolvePaths(res *v1alpha1.Resource, report func(path, msg string)) {
	dir := res.Origin.Dir
	switch s := res.Spec.(type) {
	case *v1alpha1.HostSpec:
		s.PrivateKeyFile = localPath(dir, s.PrivateKeyFile)
		s.HostKey.KnownHostsFile = localPath(dir, s.HostKey.KnownHostsFile)
		if j := s.Jump; j != nil {
			j.PrivateKeyFile = localPath(dir, j.PrivateKeyFile)
			j.HostKey.KnownHostsFile = localPath(dir, j.HostKey.KnownHostsFile)
		}
	case *v1alpha1.FileSpec:
		if s.Source != "" {
			given := s.Source
			s.Source = localPath(dir, s.Source)
			if err := readable(s.Source); err != nil {
				report("spec.source", fmt.Sprintf("cannot read %q (relative to the manifest's directory): %v", given, err))
			}
		}
	}
	walkValues(reflect.ValueOf(res.Spec), "spec", func(v reflect.Value, _ string) {
		if src, ok := v.Interface().(*v1alpha1.SecretSource); ok && src != nil {
			src.File = localPath(dir, src.File)
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
