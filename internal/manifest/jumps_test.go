package manifest

import (
	"os"
	"path/filepath"
	"testing"
)

// A Host's jump.host is linked to the Host it names, through chains, and
// the bastion's relative paths resolve like the host's.
func TestLoadLinksJumpHosts(t *testing.T) {
	dir := t.TempDir()
	m := `apiVersion: optimus.dev/v1alpha1
kind: Host
metadata: {name: web}
spec: {address: 10.0.0.3, jump: {host: inner}}
---
apiVersion: optimus.dev/v1alpha1
kind: Host
metadata: {name: inner}
spec: {address: 10.0.0.2, jump: {host: outer}}
---
apiVersion: optimus.dev/v1alpha1
kind: Host
metadata: {name: outer}
spec: {address: 10.0.0.1}
---
apiVersion: optimus.dev/v1alpha1
kind: Host
metadata: {name: inline}
spec: {address: 10.0.0.4, jump: {address: 10.0.0.1, privateKeyFile: keys/bastion, hostKey: {knownHostsFile: kh}}}
`
	if err := os.WriteFile(filepath.Join(dir, "hosts.yaml"), []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := testLoader(t).Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]string{}
	for _, h := range set.Hosts() {
		if j := h.Spec.Jump; j != nil && j.Bastion() != nil {
			hosts[h.Metadata.Name] = j.Bastion().Metadata.Name
		}
		if h.Metadata.Name == "inline" {
			j := h.Spec.Jump
			if j.Bastion() != nil || j.PrivateKeyFile != filepath.Join(dir, "keys/bastion") || j.HostKey.KnownHostsFile != filepath.Join(dir, "kh") {
				t.Errorf("inline jump: bastion %v, key %q, known_hosts %q; want no Host and paths below %s", j.Bastion(), j.PrivateKeyFile, j.HostKey.KnownHostsFile, dir)
			}
		}
	}
	if hosts["web"] != "inner" || hosts["inner"] != "outer" || len(hosts) != 2 {
		t.Errorf("linked bastions = %v, want web->inner, inner->outer", hosts)
	}
}
