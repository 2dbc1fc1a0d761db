package manifest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader as standard input: it must
// never panic, and must either succeed or return an ErrorList.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.y*ml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("---\n--- |\n  x\n...\n"))
	f.Add([]byte("apiVersion: optimus.dev/v1alpha1\nkind: File\nforEach: &l [a, {k: b}, *l]\nmetadata: {name: f-${item}}\nspec: {path: /etc/${item.k}}\n"))
	f.Add([]byte("apiVersion: optimus.dev/v1alpha1\nkind: Host\nmetadata: {name: h}\nspec: {address: h, vars: {p: {q: 1}}}\n---\n" +
		"apiVersion: optimus.dev/v1alpha1\nkind: GroupVars\nmetadata: {name: g}\nspec: {vars: {p: 2}, priority: 1}\n---\n" +
		"apiVersion: optimus.dev/v1alpha1\nkind: LineInFile\nmetadata: {name: l}\nspec: {path: /x, line: \"${vars.p.q} $${vars.p}\", hostSelector: {matchVarExpressions: [{key: p, operator: Ge, values: [\"1\"]}]}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := testLoader(t)
		l.Stdin = bytes.NewReader(data)
		set, err := l.Load("-")
		if err == nil && set == nil {
			t.Fatal("nil set without error")
		}
		if err != nil {
			if _, ok := err.(ErrorList); !ok {
				t.Fatalf("error is %T, not ErrorList", err)
			}
		}
	})
}
