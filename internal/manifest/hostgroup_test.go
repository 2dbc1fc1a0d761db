package manifest

import (
	"path/filepath"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

func TestHostGroupStampsOutHosts(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "fleet.yaml", `apiVersion: optimus.dev/v1alpha1
kind: HostGroup
metadata: {name: web}
spec:
  template:
    metadata:
      labels: {role: web}
    spec:
      user: deploy
      privateKeyFile: keys/id
      hostKey: {policy: insecure}
      vars: {tier: front, dc: a}
  members:
  - {name: web1, address: 10.0.0.1}
  - {name: web2, address: "10.0.0.2:2222", labels: {canary: "yes"}, vars: {dc: b}}
  - {name: web3, address: "[2001:db8::3]:22"}
---
apiVersion: optimus.dev/v1alpha1
kind: User
metadata: {name: canary-only}
spec:
  hostSelector: {matchLabels: {canary: "yes"}}
---
apiVersion: optimus.dev/v1alpha1
kind: User
metadata: {name: web3-only}
spec:
  hostSelector: {matchLabels: {optimus.dev/host: web3}}
`)
	set, err := testLoader(t).Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	hosts := set.Hosts()
	if len(hosts) != 3 {
		t.Fatalf("%d hosts, want 3", len(hosts))
	}
	for _, r := range set.Resources {
		if r.Kind == v1alpha1.HostGroupKind.Kind {
			t.Fatal("the HostGroup itself is left in the set; the engine has no reconciler for it")
		}
	}
	byName := map[string]*v1alpha1.Host{}
	for _, h := range hosts {
		byName[h.Metadata.Name] = h
	}
	web1, web2, web3 := byName["web1"], byName["web2"], byName["web3"]
	if web1.Spec.Address != "10.0.0.1" || web1.Spec.Port != 22 || web1.Spec.User != "deploy" ||
		web1.Spec.PrivateKeyFile != filepath.Join(dir, "keys/id") {
		t.Errorf("web1 spec = %+v", web1.Spec)
	}
	if web2.Spec.Address != "10.0.0.2" || web2.Spec.Port != 2222 || web2.Spec.Vars["dc"] != "b" || web2.Spec.Vars["tier"] != "front" {
		t.Errorf("web2 spec = %+v", web2.Spec)
	}
	if web1.Spec.Vars["dc"] != "a" {
		t.Errorf("a member's vars leaked into another: web1 vars %v", web1.Spec.Vars)
	}
	if web3.Spec.Address != "2001:db8::3" {
		t.Errorf("web3 address %q", web3.Spec.Address)
	}
	if web2.Metadata.Labels["role"] != "web" || web2.Metadata.Labels["canary"] != "yes" || web2.Metadata.Labels[v1alpha1.LabelHostName] != "web2" ||
		web1.Metadata.Labels["canary"] != "" {
		t.Errorf("labels: web1 %v, web2 %v", web1.Metadata.Labels, web2.Metadata.Labels)
	}
	targets := func(name string) []string {
		var out []string
		for _, r := range set.ForHost(byName[name]) {
			out = append(out, r.Metadata.Name)
		}
		return out
	}
	if got := targets("web2"); len(got) != 1 || got[0] != "canary-only" {
		t.Errorf("web2 targeted by %v", got)
	}
	if got := targets("web3"); len(got) != 1 || got[0] != "web3-only" {
		t.Errorf("web3 targeted by %v", got)
	}
}
