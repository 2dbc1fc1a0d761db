package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// TestCheckHost: the loader's CheckHost runs for every resource and every
// host it targets; a problem found on several hosts is one error at the
// field's line, naming the first three hosts and counting the rest.
func TestCheckHost(t *testing.T) {
	var b strings.Builder
	for i := 1; i <= 5; i++ {
		fmt.Fprintf(&b, "apiVersion: optimus.dev/v1alpha1\nkind: Host\nmetadata: {name: h%d, labels: {role: web}}\nspec: {address: 127.0.0.%d}\n---\n", i, i)
	}
	b.WriteString("apiVersion: optimus.dev/v1alpha1\nkind: File\nmetadata: {name: f}\nspec:\n  path: /etc/f\n  hostSelector: {matchLabels: {role: web}}\n  content: x\n")
	path := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	l := testLoader(t)
	calls := 0
	l.CheckHost = func(res *v1alpha1.Resource, h *v1alpha1.Host) []v1alpha1.FieldError {
		calls++
		if res.Kind != "File" || h.Metadata.Name == "h3" {
			return nil
		}
		return []v1alpha1.FieldError{{Path: "content", Message: "wrong for this host"}}
	}
	_, err := l.Load(path)
	if calls != 5 {
		t.Errorf("CheckHost called %d times, want once per host", calls)
	}
	want := path + ":32: File/f: spec.content: for hosts h1, h2, h4 and 1 more: wrong for this host"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}
