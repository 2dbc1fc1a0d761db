package history

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/user"
	"path/filepath"
	"sort"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/manifest"
)

// Digest identifies a manifest set by what it declares, not by where it was
// read from: every resource's kind, name, labels, annotations and spec, in
// a stable order, and the content of the files a File takes its source
// from. Moving a document to another file or reordering files keeps the
// digest; changing any desired state changes it.
func Digest(set *manifest.Set) string {
	res := append([]*v1alpha1.Resource(nil), set.Resources...)
	sort.SliceStable(res, func(i, j int) bool {
		a, b := res[i].ID(), res[j].ID()
		return a < b
	})
	hash := sha256.New()
	enc := json.NewEncoder(hash)
	for _, r := range res {
		_ = enc.Encode(r) // Origin is not encoded
		if f, ok := r.Spec.(*v1alpha1.FileSpec); ok && f.Source != "" {
			src := f.Source
			if !filepath.IsAbs(src) {
				src = filepath.Join(r.Origin.Dir, src)
			}
			if b, err := os.ReadFile(src); err == nil {
				sum := sha256.Sum256(b)
				hash.Write(sum[:])
			}
		}
	}
	return hex.EncodeToString(hash.Sum(nil))
}

// Who names the person running this process as user@machine.
func Who() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return name + "@" + host
}
