package textedit

import (
	"bytes"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestAwkAgreesWithApply runs random edits of random files with the
// local awk (mawk on Debian, as on the hosts) and compares its output
// with Apply's: the plan shows what the host will do.
func TestAwkAgreesWithApply(t *testing.T) {
	if _, err := exec.LookPath("awk"); err != nil {
		t.Skip("no awk")
	}
	words := []string{"a", "b", "", " ", "# BEGIN x", "# END x", `$HOME \n 'q' "d" %s`, "a"}
	r := rand.New(rand.NewPCG(1, 2))
	pick := func() string { return words[r.IntN(len(words))] }
	picks := func() []string {
		out := make([]string, r.IntN(3))
		for i := range out {
			out[i] = pick()
		}
		return out
	}
	wheres := []Where{End, Start, After, Before}
	for i := range 150 {
		lines := picks()
		lines = append(lines, picks()...)
		var ops []Op
		for range 1 + r.IntN(3) {
			op := Op{Where: wheres[r.IntN(4)], Anchor: pick()}
			switch r.IntN(4) {
			case 0:
				op.Kind, op.Line, op.Old, op.HasOld = Set, pick(), pick(), r.IntN(2) == 0
			case 1:
				op.Kind, op.Lines = Delete, picks()
			case 2:
				op.Kind, op.Begin, op.End, op.Lines = Block, "# BEGIN x", "# END x", picks()
			case 3:
				op.Kind, op.Begin, op.End = DeleteBlock, "# BEGIN x", "# END x"
			}
			ops = append(ops, op)
		}
		want := Join(Apply(lines, ops...))
		for _, secret := range []bool{false, true} {
			prep, cmd, input := Command(ops, secret)
			script := cmd + ` <"$1"`
			if prep != "" {
				script = prep + " && " + script
			}
			in := t.TempDir() + "/in"
			if err := writeFile(in, Join(lines)); err != nil {
				t.Fatal(err)
			}
			c := exec.Command("sh", "-c", script, "sh", in)
			c.Stdin = bytes.NewReader(input)
			var stderr bytes.Buffer
			c.Stderr = &stderr
			got, err := c.Output()
			if err != nil || string(got) != want {
				t.Fatalf("case %d (secret %v): %q with %+v:\nawk  %q %v %s\nwant %q", i, secret, lines, ops, got, err, stderr.String(), want)
			}
			if secret && strings.Contains(cmd, "O_1_K") {
				t.Errorf("a secret edit carries its lines in the command: %s", cmd)
			}
		}
	}
}

func TestApply(t *testing.T) {
	in := []string{"x", "# B", "old", "# E", "y"}
	for _, tc := range []struct {
		name string
		op   Op
		want []string
	}{
		{"replace", Op{Kind: Set, Line: "n", Old: "x", HasOld: true}, []string{"n", "# B", "old", "# E", "y"}},
		{"present", Op{Kind: Set, Line: "y"}, in},
		{"after", Op{Kind: Set, Line: "n", Where: After, Anchor: "x"}, []string{"x", "n", "# B", "old", "# E", "y"}},
		{"before", Op{Kind: Set, Line: "n", Where: Before, Anchor: "x"}, []string{"n", "x", "# B", "old", "# E", "y"}},
		{"start", Op{Kind: Set, Line: "n", Where: Start}, []string{"n", "x", "# B", "old", "# E", "y"}},
		{"block replaced", Op{Kind: Block, Begin: "# B", End: "# E", Lines: []string{"1", "2"}}, []string{"x", "# B", "1", "2", "# E", "y"}},
		{"block added", Op{Kind: Block, Begin: "# B2", End: "# E2", Lines: []string{"1"}, Where: After, Anchor: "x"}, []string{"x", "# B2", "1", "# E2", "# B", "old", "# E", "y"}},
		{"block removed", Op{Kind: DeleteBlock, Begin: "# B", End: "# E"}, []string{"x", "y"}},
		{"delete", Op{Kind: Delete, Lines: []string{"x", "old"}}, []string{"# B", "# E", "y"}},
	} {
		if got := Apply(in, tc.op); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
