package manifest

import (
	"errors"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

func TestForEachStampsOutResources(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "fs.yaml", `apiVersion: optimus.dev/v1alpha1
kind: File
forEach: [cramfs, udf]
metadata: {name: "disable-${item}"}
spec:
  path: /etc/modprobe.d/${item}.conf
  content: "install ${item} /bin/false\n"
---
apiVersion: optimus.dev/v1alpha1
kind: LineInFile
forEach:
- {name: root-login, key: PermitRootLogin, value: prohibit-password}
- {name: x11, key: X11Forwarding, value: "no"}
metadata:
  name: sshd-${item.name}
spec:
  path: /etc/ssh/sshd_config
  regexp: ^#?${item.key}\b
  line: ${item.key} ${item.value}
`)
	set, err := testLoader(t).Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range set.Resources {
		switch s := r.Spec.(type) {
		case *v1alpha1.FileSpec:
			got[r.ID()] = s.Path + " " + *s.Content
		case *v1alpha1.LineInFileSpec:
			got[r.ID()] = s.Regexp + " " + s.Line
		}
	}
	want := map[string]string{
		"File/disable-cramfs":        "/etc/modprobe.d/cramfs.conf install cramfs /bin/false\n",
		"File/disable-udf":           "/etc/modprobe.d/udf.conf install udf /bin/false\n",
		"LineInFile/sshd-root-login": `^#?PermitRootLogin\b PermitRootLogin prohibit-password`,
		"LineInFile/sshd-x11":        `^#?X11Forwarding\b X11Forwarding no`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s = %q, want %q", id, got[id], w)
		}
	}
}

func TestForEachErrorsNameTheItem(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "bad.yaml", `apiVersion: optimus.dev/v1alpha1
kind: File
forEach: [ok, "not/clean/../path"]
metadata: {name: "f-${item}"}
spec:
  path: /etc/${item}
---
apiVersion: optimus.dev/v1alpha1
kind: File
forEach: [a, b]
metadata: {name: same}
spec: {path: /etc/x}
---
apiVersion: optimus.dev/v1alpha1
kind: File
forEach: [{n: a}]
metadata: {name: "g-${item.n}"}
spec: {path: "/etc/${item.m}"}
`)
	_, err := testLoader(t).Load(dir)
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("want errors, got %v", err)
	}
	out := list.Error()
	for _, want := range []string{
		`bad.yaml:6: File/f-not/clean/../path: spec.path: forEach[1] "not/clean/../path": `,
		`bad.yaml:11: metadata.name: with forEach, each resource needs its own name`,
		`bad.yaml:18: spec.path: forEach[0] {n: "a", ...}: ${item.m}: the item has no key "m"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("errors lack %q:\n%s", want, out)
		}
	}
}

func TestForEachRefusesAnAliasBomb(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "bomb.yaml", `apiVersion: optimus.dev/v1alpha1
kind: File
forEach: [a, b, c]
metadata: {name: "f-${item}"}
spec:
  path: /etc/${item}
  x0: &x0 [q, q, q, q, q, q, q, q, q, q]
  x1: &x1 [*x0, *x0, *x0, *x0, *x0, *x0, *x0, *x0, *x0, *x0]
  x2: &x2 [*x1, *x1, *x1, *x1, *x1, *x1, *x1, *x1, *x1, *x1]
  x3: &x3 [*x2, *x2, *x2, *x2, *x2, *x2, *x2, *x2, *x2, *x2]
  x4: &x4 [*x3, *x3, *x3, *x3, *x3, *x3, *x3, *x3, *x3, *x3]
  x5: &x5 [*x4, *x4, *x4, *x4, *x4, *x4, *x4, *x4, *x4, *x4]
`)
	_, err := testLoader(t).Load(dir)
	if err == nil || !strings.Contains(err.Error(), "bomb.yaml:3: forEach: 3 items of a document of") {
		t.Errorf("want the forEach refused at its line, got %v", err)
	}
}
