package textedit

import (
	"fmt"
	"strings"

	"github.com/optimus-cm/optimus/reconcilers"
)

// awkProgram applies the ops given in the environment (O_N of them, the
// fields of op k in O_k_*) to its input, as Apply does. It compares whole
// lines as strings, never as patterns, and reads them from ENVIRON, where
// awk interprets no escape sequence, so no line content is interpreted.
const awkProgram = `function ins(p, c, a,   i) {
	for (i = n; i > p; i--) l[i + c] = l[i]
	for (i = 1; i <= c; i++) l[p + i] = a[i]
	n += c
}
function cut(from, to,   i, c) {
	c = to - from + 1
	if (c <= 0) return
	for (i = to + 1; i <= n; i++) l[i - c] = l[i]
	for (i = n - c + 1; i <= n; i++) delete l[i]
	n -= c
}
function last(s,   i) { for (i = n; i >= 1; i--) if (l[i] == s) return i; return 0 }
function pos(w, a,   i) {
	if (w == "start") return 0
	if (w == "after" || w == "before") { i = last(a); if (i) return w == "after" ? i : i - 1 }
	return n
}
function block(b, e,   i) {
	bb = 0; be = 0
	for (i = 1; i <= n; i++) if (l[i] == b) { bb = i; break }
	if (!bb) return 0
	for (i = bb + 1; i <= n; i++) if (l[i] == e) { be = i; return 1 }
	return 0
}
{ l[++n] = $0 }
END {
	N = ENVIRON["O_N"] + 0
	for (k = 1; k <= N; k++) {
		p = "O_" k "_"
		kind = ENVIRON[p "K"]; line = ENVIRON[p "L"]; w = ENVIRON[p "W"]; a = ENVIRON[p "A"]
		c = ENVIRON[p "NL"] + 0; split(ENVIRON[p "LS"], ls, "\n")
		for (i = c + 1; i in ls; i++) delete ls[i]
		if (kind == "set") {
			if (ENVIRON[p "HO"] == "1" && (i = last(ENVIRON[p "O"]))) { l[i] = line; continue }
			if (last(line)) continue
			one[1] = line; ins(pos(w, a), 1, one)
		} else if (kind == "delete") {
			split("", gone); for (i = 1; i <= c; i++) gone[ls[i]] = 1
			m = 0
			for (i = 1; i <= n; i++) if (!(l[i] in gone)) l[++m] = l[i]
			for (i = m + 1; i <= n; i++) delete l[i]
			n = m
		} else if (kind == "block") {
			B = ENVIRON[p "B"]; E = ENVIRON[p "E"]
			if (block(B, E)) { cut(bb + 1, be - 1); ins(bb, c, ls); continue }
			split("", nb); nb[1] = B; for (i = 1; i <= c; i++) nb[i + 1] = ls[i]; nb[c + 2] = E
			ins(pos(w, a), c + 2, nb)
		} else if (kind == "deleteblock") {
			if (block(ENVIRON[p "B"], ENVIRON[p "E"])) cut(bb, be)
		} else { print "optimus: unknown edit " kind > "/dev/stderr"; exit 1 }
	}
	for (i = 1; i <= n; i++) print l[i]
}`

// Command is the shell command that applies ops to its standard input and
// prints the result. With secret set, the ops are not in the command: they
// come in input, which the script's standard input must carry, and prep,
// run first, reads them into the environment, so that no line reaches a
// command line.
func Command(ops []Op, secret bool) (prep, cmd string, input []byte) {
	env := []string{fmt.Sprintf("O_N=%d", len(ops))}
	for i, op := range ops {
		p := fmt.Sprintf("O_%d_", i+1)
		add := func(k, v string) { env = append(env, p+k+"="+reconcilers.ShellCommand(v)) }
		add("K", string(op.Kind))
		if op.Line != "" {
			add("L", op.Line)
		}
		if op.HasOld {
			add("HO", "1")
			add("O", op.Old)
		}
		if len(op.Lines) > 0 {
			add("NL", fmt.Sprint(len(op.Lines)))
			add("LS", strings.Join(op.Lines, "\n"))
		}
		if op.Begin != "" || op.End != "" {
			add("B", op.Begin)
			add("E", op.End)
		}
		if op.Where != "" && op.Where != End {
			add("W", string(op.Where))
			add("A", op.Anchor)
		}
	}
	awk := "awk " + reconcilers.ShellCommand(awkProgram)
	if !secret {
		return "", strings.Join(env, " ") + " " + awk, nil
	}
	return `eval "$(cat)" && [ -n "$O_N" ]`, awk, []byte("export " + strings.Join(env, " ") + "\n")
}
