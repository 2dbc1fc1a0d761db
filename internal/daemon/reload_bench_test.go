package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// BenchmarkReload10k is one reload of the manifests hack/bench writes for
// a 10,000-host fleet (a HostGroup, a File per host in one file, two
// Directories) after one host's File changed: the work a change waits for
// before it is queued.
func BenchmarkReload10k(b *testing.B) {
	const n = 10000
	scheme, err := v1alpha1.NewScheme(v1alpha1.BuiltinKinds()...)
	if err != nil {
		b.Fatal(err)
	}
	reg, err := reconcilers.NewRegistry()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	write := func(changed int) {
		var g, f strings.Builder
		g.WriteString("apiVersion: optimus.dev/v1alpha1\nkind: HostGroup\nmetadata: {name: fleet}\nspec:\n  template:\n    spec: {privateKeyFile: id, hostKey: {policy: insecure}}\n  members:\n")
		f.WriteString("apiVersion: optimus.dev/v1alpha1\nkind: Directory\nmetadata: {name: fleet}\nspec: {path: /tmp/fleet}\n")
		for i := range n {
			fmt.Fprintf(&g, "  - {name: h%05d, address: \"127.0.0.1:%d\"}\n", i, 20000+i)
			content := "one"
			if i == changed {
				content = "two"
			}
			fmt.Fprintf(&f, "---\napiVersion: optimus.dev/v1alpha1\nkind: File\nmetadata: {name: h%05d}\nspec:\n  hostSelector: {matchLabels: {optimus.dev/host: h%05d}}\n  path: /tmp/fleet/h%05d\n  content: %q\n", i, i, i, content)
		}
		for name, s := range map[string]string{"fleet.yaml": g.String(), "files.yaml": f.String()} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	write(-1)
	d, err := New(Options{Dir: dir, Scheme: scheme, Registry: reg, StateDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	d.reload()
	if d.q.Len() != n {
		b.Fatalf("%d hosts queued after the first load; want %d", d.q.Len(), n)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		write(i % n)
		b.StartTimer()
		d.reload()
	}
}
