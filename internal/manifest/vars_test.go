package manifest

import (
	"errors"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

const varsFleet = `apiVersion: optimus.dev/v1alpha1
kind: HostGroup
metadata: {name: web}
spec:
  template:
    metadata: {labels: {role: web}}
    spec:
      hostKey: {policy: insecure}
      vars: {relay: tmpl.example}
  members:
  - {name: web1, address: 10.0.0.1}
  - {name: web2, address: 10.0.0.2, vars: {sshPort: 2202}}
---
apiVersion: optimus.dev/v1alpha1
kind: Host
metadata: {name: db1, labels: {role: db}}
spec:
  address: 10.0.0.3
  hostKey: {policy: insecure}
  vars: {sshPort: "2203", relay: db.example}
---
apiVersion: optimus.dev/v1alpha1
kind: GroupVars
metadata: {name: all}
spec:
  vars: {sshPort: 22, relay: all.example, banner: "Authorised use only"}
---
apiVersion: optimus.dev/v1alpha1
kind: GroupVars
metadata: {name: web-hardened}
spec:
  hostSelector: {matchLabels: {role: web}}
  priority: 10
  vars: {sshPort: 2200}
`

func TestVarsMergeInDocumentedOrder(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "fleet.yaml", varsFleet)
	set, err := testLoader(t).Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range set.Resources {
		if r.Kind == v1alpha1.GroupVarsKind.Kind {
			t.Fatal("GroupVars left in the set: the engine has no reconciler for it")
		}
	}
	want := map[string]map[string]any{
		"web1": {"sshPort": 2200.0, "relay": "tmpl.example", "banner": "Authorised use only"},
		"web2": {"sshPort": 2202.0, "relay": "tmpl.example", "banner": "Authorised use only"},
		"db1":  {"sshPort": "2203", "relay": "db.example", "banner": "Authorised use only"},
	}
	for _, h := range set.Hosts() {
		for k, v := range want[h.Metadata.Name] {
			if got := h.Spec.Vars[k]; got != v {
				t.Errorf("%s: vars[%s] = %#v, want %#v", h.Metadata.Name, k, got, v)
			}
		}
	}
	srcs := set.Vars("web2")
	var port VarSource
	for _, s := range srcs {
		if s.Name == "sshPort" {
			port = s
		}
	}
	if port.From != "HostGroup/web member web2" || !strings.HasSuffix(port.At, "fleet.yaml:12") {
		t.Errorf("web2 sshPort from %q at %q, want the member's line 12", port.From, port.At)
	}
	if len(port.Overrides) != 2 || port.Overrides[0].From != "GroupVars/web-hardened (priority 10)" ||
		port.Overrides[1].From != "GroupVars/all (priority 0)" {
		t.Errorf("web2 sshPort overrides %+v, want web-hardened then all", port.Overrides)
	}
}

func TestVarsExpandPerHost(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "fleet.yaml", varsFleet+`---
apiVersion: optimus.dev/v1alpha1
kind: LineInFile
metadata: {name: sshd-port}
spec:
  path: /etc/ssh/sshd_config
  line: "Port ${vars.sshPort} # $${vars.sshPort} stays, ${HOME} too"
  regexp: ^Port
---
apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: relay}
spec:
  hostSelector:
    matchVarExpressions: [{key: relay, operator: In, values: [db.example]}]
  path: /etc/relay
  content: "${vars.relay}\n"
`)
	set, err := testLoader(t).Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]string{}
	files := map[string]int{}
	for _, h := range set.Hosts() {
		for _, r := range set.ForHost(h) {
			switch s := r.Spec.(type) {
			case *v1alpha1.LineInFileSpec:
				lines[h.Metadata.Name] = s.Line
			case *v1alpha1.FileSpec:
				files[h.Metadata.Name]++
				if got := *s.Content; got != "db.example\n" {
					t.Errorf("%s: content %q", h.Metadata.Name, got)
				}
			}
		}
	}
	for host, port := range map[string]string{"web1": "2200", "web2": "2202", "db1": "2203"} {
		if want := "Port " + port + " # ${vars.sshPort} stays, ${HOME} too"; lines[host] != want {
			t.Errorf("%s: line %q, want %q", host, lines[host], want)
		}
	}
	if files["db1"] != 1 || files["web1"]+files["web2"] != 0 {
		t.Errorf("File/relay on %v, want db1 only (matchVarExpressions)", files)
	}
}

func TestVarsErrorsNameLineFieldAndHosts(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "fleet.yaml", varsFleet+`---
apiVersion: optimus.dev/v1alpha1
kind: LineInFile
metadata: {name: motd}
spec:
  path: /etc/motd
  line: "${vars.motd}"
---
apiVersion: optimus.dev/v1alpha1
kind: LineInFile
metadata: {name: bad-path}
spec:
  hostSelector: {matchLabels: {role: db}}
  path: "${vars.relay}/x"
  line: x
`)
	_, err := testLoader(t).Load(dir)
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 2 {
		t.Fatalf("want 2 errors, got %v", err)
	}
	got := list.Error()
	for _, want := range []string{
		"fleet.yaml:41: LineInFile/motd: spec.line: hosts web1, web2, db1: ${vars.motd}: variable \"motd\" is not set",
		"fleet.yaml:48: LineInFile/bad-path: spec.path: host db1: must be an absolute",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
}

func TestGroupVarsSelectByLabelsOnly(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "gv.yaml", `apiVersion: optimus.dev/v1alpha1
kind: GroupVars
metadata: {name: by-fact}
spec:
  hostSelector: {matchFacts: {os.id: debian}}
  vars: {a: 1}
---
apiVersion: optimus.dev/v1alpha1
kind: GroupVars
metadata: {name: empty}
spec: {vars: {}}
`)
	_, err := testLoader(t).Load(dir)
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 2 {
		t.Fatalf("want 2 errors, got %v", err)
	}
	got := list.Error()
	for _, want := range []string{
		"gv.yaml:5: GroupVars/by-fact: spec.hostSelector: variables are merged before hosts are observed",
		"gv.yaml:11: GroupVars/empty: spec.vars: ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
}
