package manifest

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

func TestLoadGoodDirectory(t *testing.T) {
	set, err := testLoader(t).Load("testdata/good")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var ids []string
	for _, r := range set.Resources {
		ids = append(ids, r.ID())
	}
	// files.yml, hosts.yaml, users.yaml in lexical order; empty documents skipped.
	want := []string{"File/motd", "Directory/app", "File/app-config", "Package/nginx", "Service/nginx", "Exec/reload-app",
		"Host/web1", "Host/web2", "Host/db1", "Group/admins", "User/bob", "User/alice", "User/oscar"}
	if !slices.Equal(ids, want) {
		t.Errorf("resources:\n got %v\nwant %v", ids, want)
	}
	if len(set.Warnings) != 0 {
		t.Errorf("unexpected warnings: %v", set.Warnings)
	}

	bob := set.Get(v1alpha1.ResourceRef{Kind: "User", Name: "bob"})
	if bob == nil {
		t.Fatal("Get(User/bob) = nil")
	}
	if got := bob.Origin; got.File != filepath.Join("testdata", "good", "users.yaml") || got.Line != 11 {
		t.Errorf("User/bob origin = %+v, want users.yaml:11", got)
	}
	abs, _ := filepath.Abs("testdata/good")
	if bob.Origin.Dir != abs {
		t.Errorf("Origin.Dir = %q, want %q", bob.Origin.Dir, abs)
	}
	us := bob.Spec.(*v1alpha1.UserSpec)
	if us.Name != "bob" || us.State != "present" || us.CreateHome == nil || !*us.CreateHome {
		t.Errorf("defaults not applied: %+v", us)
	}
	if set.Get(v1alpha1.ResourceRef{Kind: "User", Name: "nobody"}) != nil {
		t.Error("Get of a missing resource is not nil")
	}

	hosts := set.Hosts()
	if len(hosts) != 3 || hosts[0].Metadata.Name != "web1" {
		t.Fatalf("Hosts() = %v", hosts)
	}
	web1 := hosts[0].Spec
	if web1.PrivateKeyFile != filepath.Join(abs, "keys/id_ed25519") || web1.HostKey.KnownHostsFile != filepath.Join(abs, "keys/known_hosts") {
		t.Errorf("relative paths not resolved: %q %q", web1.PrivateKeyFile, web1.HostKey.KnownHostsFile)
	}
	if got := hosts[2].Spec.Become.PasswordFrom.File; got != filepath.Join(abs, "secrets/sudo-password") {
		t.Errorf("become.passwordFrom.file = %q", got)
	}
	if hosts[1].Spec.ConnectTimeout.String() != "5s" || hosts[0].Spec.Port != 50001 || hosts[2].Spec.Port != 22 {
		t.Errorf("host specs decoded wrongly: %+v %+v", hosts[1].Spec, hosts[2].Spec)
	}
	motd := set.Get(v1alpha1.ResourceRef{Kind: "File", Name: "motd"}).Spec.(*v1alpha1.FileSpec)
	if motd.Source != filepath.Join(abs, "files/motd.txt") {
		t.Errorf("File source = %q", motd.Source)
	}
	cfg := set.Get(v1alpha1.ResourceRef{Kind: "File", Name: "app-config"}).Spec.(*v1alpha1.FileSpec)
	if !strings.HasSuffix(*cfg.Content, "---not-a-marker\n") {
		t.Errorf("block scalar content = %q", *cfg.Content)
	}

	forHost := func(i int) []string {
		var out []string
		for _, r := range set.ForHost(hosts[i]) {
			out = append(out, r.ID())
		}
		return out
	}
	if got := forHost(2); slices.Contains(got, "User/bob") || !slices.Contains(got, "User/alice") || slices.Contains(got, "Host/db1") {
		t.Errorf("ForHost(db1) = %v", got)
	}
	if got := forHost(0); !slices.Contains(got, "User/bob") || !slices.Contains(got, "Service/nginx") || !slices.Contains(got, "User/oscar") {
		t.Errorf("ForHost(web1) = %v", got)
	}
}

func TestLoadStdin(t *testing.T) {
	data, err := os.ReadFile("testdata/good/users.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l := testLoader(t)
	l.Stdin = strings.NewReader(string(data))
	set, err := l.Load("-", "testdata/good/hosts.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(set.Resources) != 7 {
		t.Fatalf("got %d resources, want 7", len(set.Resources))
	}
	if o := set.Resources[0].Origin; o.File != "-" || o.Line != 5 {
		t.Errorf("stdin origin = %+v, want -:5", o)
	}
	// Errors name standard input readably.
	l.Stdin = strings.NewReader("apiVersion: optimus.dev/v1alpha1\nkind: User\nmetadata: {name: x}\nspec: {shel: /bin/sh}\n")
	_, err = l.Load("-")
	if want := "<stdin>:4: User/x: spec.shel: unknown field \"shel\" (did you mean shell?)"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestLoadWarnsAboutUnmatchedSelector(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "m.yaml", `apiVersion: optimus.dev/v1alpha1
kind: Host
metadata: {name: h, labels: {role: web}}
spec: {address: 127.0.0.1}
---
apiVersion: optimus.dev/v1alpha1
kind: User
metadata: {name: bob}
spec:
  hostSelector: {matchLabels: {role: db}}
`)
	set, err := testLoader(t).Load(filepath.Join(dir, "m.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "m.yaml") + ":10: User/bob: spec.hostSelector: matches no Host"}
	if !reflect.DeepEqual(set.Warnings, want) {
		t.Errorf("warnings = %q, want %q", set.Warnings, want)
	}
}

func TestLoadPathErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "notes.txt", "not a manifest")
	writeFile(t, dir, ".hidden/x.yaml", "kind: [")
	_, err := testLoader(t).Load("testdata/nope.yaml", dir)
	want := dir + ": no *.yaml or *.yml files in this directory\n" +
		"testdata/nope.yaml: no such file or directory"
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
}

func TestLoadEdgesCycle(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "m.yaml", `apiVersion: optimus.dev/v1alpha1
kind: Group
metadata: {name: g}
spec:
  dependsOn: [{kind: User, name: u}]
---
apiVersion: optimus.dev/v1alpha1
kind: User
metadata: {name: u}
spec: {groups: [g]}
`)
	l := testLoader(t)
	l.Edges = func(r *v1alpha1.Resource, all []*v1alpha1.Resource) []v1alpha1.ResourceRef {
		var refs []v1alpha1.ResourceRef
		if u, ok := r.Spec.(*v1alpha1.UserSpec); ok {
			for _, g := range u.Groups {
				refs = append(refs, v1alpha1.ResourceRef{Kind: "Group", Name: g})
			}
		}
		return refs
	}
	_, err := l.Load(filepath.Join(dir, "m.yaml"))
	want := filepath.Join(dir, "m.yaml") + ":5: Group/g: spec.dependsOn: dependency cycle: Group/g -> User/u -> Group/g"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestErrorFormat(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{File: "a.yaml", Line: 3, Resource: "User/bob", Field: "spec.shell", Message: "bad"}, "a.yaml:3: User/bob: spec.shell: bad"},
		{Error{File: "a.yaml", Line: 3, Message: "bad"}, "a.yaml:3: bad"},
		{Error{File: "a.yaml", Message: "bad"}, "a.yaml: bad"},
		{Error{Field: "kind", Message: "bad"}, "kind: bad"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
