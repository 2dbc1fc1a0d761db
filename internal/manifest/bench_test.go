package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkLoad loads a set of 1,000 Hosts and 1,000 Files (each File with
// a source file next to the manifests), split over 20 manifest files.
func BenchmarkLoad(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "motd.txt"), []byte("hello\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	for f := range 20 {
		var sb strings.Builder
		for i := range 50 {
			n := f*50 + i
			fmt.Fprintf(&sb, `---
apiVersion: optimus.dev/v1alpha1
kind: Host
metadata:
  name: host%d
  labels: {role: web, rack: r%d}
spec:
  address: 10.0.%d.%d
  port: 22
  user: deploy
  privateKeyFile: keys/id_ed25519
  hostKey: {policy: accept-new, knownHostsFile: keys/known_hosts}
  connectTimeout: 5s
  vars: {tier: frontend, weight: %d}
---
apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: file%d}
spec:
  hostSelector:
    matchLabels: {role: web}
    matchExpressions:
      - {key: rack, operator: In, values: [r%d]}
  path: /etc/app/file%d.conf
  source: motd.txt
  mode: "0644"
  owner: root
  group: root
`, n, n%10, n/250, n%250, n, n, n%10, n)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("set%02d.yaml", f)), []byte(sb.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	l := testLoader(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		set, err := l.Load(dir)
		if err != nil {
			b.Fatal(err)
		}
		if len(set.Resources) != 2000 {
			b.Fatalf("%d resources", len(set.Resources))
		}
	}
}

// BenchmarkLoadVars loads 1,000 Hosts of one HostGroup, two GroupVars and
// five resources that read variables, one of them stamped out by forEach:
// 5,000 per-host variants, each decoded and checked.
func BenchmarkLoadVars(b *testing.B) {
	dir := b.TempDir()
	var sb strings.Builder
	sb.WriteString(`apiVersion: optimus.dev/v1alpha1
kind: HostGroup
metadata: {name: fleet}
spec:
  template:
    metadata: {labels: {role: web}}
    spec: {hostKey: {policy: insecure}}
  members:
`)
	for i := range 1000 {
		fmt.Fprintf(&sb, "  - {name: host%d, address: 10.0.%d.%d, vars: {weight: %d}}\n", i, i/250, i%250, i)
	}
	sb.WriteString(`---
apiVersion: optimus.dev/v1alpha1
kind: GroupVars
metadata: {name: all}
spec: {vars: {sshPort: 22, relay: mail.example, maxDays: 365}}
---
apiVersion: optimus.dev/v1alpha1
kind: GroupVars
metadata: {name: web}
spec: {hostSelector: {matchLabels: {role: web}}, priority: 10, vars: {sshPort: 2222}}
---
apiVersion: optimus.dev/v1alpha1
kind: LineInFile
forEach: [{n: port, k: Port, v: "${vars.sshPort}"}, {n: days, k: MaxDays, v: "${vars.maxDays}"}]
metadata: {name: "sshd-${item.n}"}
spec: {path: /etc/ssh/sshd_config, regexp: "^${item.k} ", line: "${item.k} ${item.v}"}
---
apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: relay}
spec: {path: /etc/relay, content: "relay ${vars.relay} weight ${vars.weight}\n", mode: "0644"}
---
apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: weight}
spec: {path: "/etc/weight-${vars.weight}", content: "x\n"}
---
apiVersion: optimus.dev/v1alpha1
kind: User
metadata: {name: app}
spec: {home: "/srv/${vars.relay}"}
`)
	if err := os.WriteFile(filepath.Join(dir, "fleet.yaml"), []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	l := testLoader(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		set, err := l.Load(dir)
		if err != nil {
			b.Fatal(err)
		}
		if len(set.Resources) != 1005 {
			b.Fatalf("%d resources", len(set.Resources))
		}
	}
}

// BenchmarkLoadOneFilePerHost loads 10,000 Hosts of one HostGroup, each
// with a File of its own selected by its host label: the loader's checks
// of which hosts each resource targets go through an index, so a load
// grows with the fleet, not with its square.
func BenchmarkLoadOneFilePerHost(b *testing.B) {
	dir := b.TempDir()
	const n = 10000
	var g, f strings.Builder
	g.WriteString("apiVersion: optimus.dev/v1alpha1\nkind: HostGroup\nmetadata: {name: fleet}\nspec:\n  template:\n    spec: {privateKeyFile: id, hostKey: {policy: insecure}}\n  members:\n")
	for i := range n {
		fmt.Fprintf(&g, "  - {name: h%05d, address: \"10.%d.%d.%d\"}\n", i, i/65536, i/256%256, i%256)
		fmt.Fprintf(&f, "---\napiVersion: optimus.dev/v1alpha1\nkind: File\nmetadata: {name: h%05d}\nspec:\n  hostSelector: {matchLabels: {optimus.dev/host: h%05d}}\n  path: /srv/h%05d\n  content: x\n", i, i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "fleet.yaml"), []byte(g.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "files.yaml"), []byte(f.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	l := testLoader(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		set, err := l.Load(dir)
		if err != nil {
			b.Fatal(err)
		}
		if len(set.Resources) != 2*n {
			b.Fatalf("%d resources", len(set.Resources))
		}
	}
}
