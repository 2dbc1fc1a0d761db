package transport

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
)

// The same batch tests run over every transport.
func TestBatch(t *testing.T) {
	transports := []struct {
		name string
		dial func(t *testing.T) Conn
	}{
		{"local", func(t *testing.T) Conn { return dial(t, localHost()) }},
		{"ssh", func(t *testing.T) Conn { return dial(t, shared(t).Resource()) }},
		{"docker", func(t *testing.T) Conn { return dial(t, dockerHost(shared(t).Container)) }},
	}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			c := tr.dial(t)
			for _, tc := range batchCases {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, c) })
			}
		})
	}
}

var batchCases = []struct {
	name string
	run  func(t *testing.T, c Conn)
}{
	{"200 commands", test200},
	{"binary output", testBinary},
	{"10MB", test10MB},
	{"stdin is never the protocol", testStdin},
	{"exit codes and stderr", testExitCodes},
	{"after guards", testAfter},
	{"commands are isolated", testIsolation},
	{"isolated commands keep no descriptor", testIsolate},
	{"invalid batch", testInvalid},
	{"output is bounded", testBounded},
}

func batch(t *testing.T, c Conn, cmds ...Command) []Result {
	t.Helper()
	rs, err := c.Batch(context.Background(), cmds)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(cmds) {
		t.Fatalf("%d results for %d commands", len(rs), len(cmds))
	}
	return rs
}

func test200(t *testing.T, c Conn) {
	var cmds []Command
	for i := range 200 {
		cmds = append(cmds, Command{Script: fmt.Sprintf("echo out%d; echo err%d >&2; exit %d", i, i, i%7)})
	}
	for i, r := range batch(t, c, cmds...) {
		if string(r.Stdout) != fmt.Sprintf("out%d\n", i) || string(r.Stderr) != fmt.Sprintf("err%d\n", i) || r.ExitCode != i%7 || r.Skipped {
			t.Fatalf("command %d: got %+v", i, r)
		}
	}
}

func all256() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func testBinary(t *testing.T, c Conn) {
	var printf strings.Builder
	for i := range 256 {
		fmt.Fprintf(&printf, `\%03o`, i)
	}
	rs := batch(t, c,
		Command{Script: "printf '" + printf.String() + "'"},
		Command{Script: "printf '" + printf.String() + "' >&2"},
		Command{Script: "cat", Stdin: all256()},
		Command{Script: "printf 'no newline'"},
		Command{Script: "printf '\\n\\n'"},
	)
	want := all256()
	if !bytes.Equal(rs[0].Stdout, want) || !bytes.Equal(rs[1].Stderr, want) || !bytes.Equal(rs[2].Stdout, want) {
		t.Errorf("256 byte values did not come back intact:\n%q\n%q\n%q", rs[0].Stdout, rs[1].Stderr, rs[2].Stdout)
	}
	if string(rs[3].Stdout) != "no newline" || string(rs[4].Stdout) != "\n\n" {
		t.Errorf("got %q and %q", rs[3].Stdout, rs[4].Stdout)
	}
}

func test10MB(t *testing.T, c Conn) {
	data := make([]byte, 10<<20)
	rand.Read(data)
	rs := batch(t, c,
		Command{Script: "cat", Stdin: data},
		Command{Script: "cat >&2", Stdin: data[:MaxStderr]},
		Command{Script: "head -c 10485760 /dev/zero"},
		Command{Script: "echo after"},
	)
	if !bytes.Equal(rs[0].Stdout, data) {
		t.Errorf("10 MB through cat: got %d bytes, want %d (equal prefix: %v)", len(rs[0].Stdout), len(data), bytes.HasPrefix(data, rs[0].Stdout))
	}
	if !bytes.Equal(rs[1].Stderr, data[:MaxStderr]) {
		t.Errorf("%d bytes of stderr: got %d bytes", MaxStderr, len(rs[1].Stderr))
	}
	if len(rs[2].Stdout) != 10<<20 || string(rs[3].Stdout) != "after\n" {
		t.Errorf("got %d bytes of zeros then %q", len(rs[2].Stdout), rs[3].Stdout)
	}
}

func testStdin(t *testing.T, c Conn) {
	rs := batch(t, c,
		Command{Script: "cat"},
		Command{Script: "read x; echo \"status $? x=$x\""},
		Command{Script: "cat; echo done", Stdin: []byte("line1\nline2")},
		Command{Script: "wc -c", Stdin: []byte{}},
		Command{Script: "head -c 3; echo; cat", Stdin: []byte("abcdef")},
		Command{Script: "echo still here"},
	)
	want := []string{"", "status 1 x=\n", "line1\nline2done\n", "0\n", "abc\ndef", "still here\n"}
	for i, w := range want {
		if string(rs[i].Stdout) != w || rs[i].Skipped {
			t.Errorf("command %d: stdout %q, want %q", i, rs[i].Stdout, w)
		}
	}
}

func testExitCodes(t *testing.T, c Conn) {
	rs := batch(t, c,
		Command{Script: "exit 3"},
		Command{Script: "echo out; echo err >&2; exit 255"},
		Command{Script: "if then"},
		Command{Script: "sh -c 'kill -9 $$'"},
		Command{Script: "exec true"},
		Command{Script: "no-such-command-xyz"},
		Command{Script: "true # a comment without newline"},
	)
	codes := []int{3, 255, 2, 137, 0, 127, 0}
	for i, code := range codes {
		if rs[i].ExitCode != code {
			t.Errorf("command %d: exit %d, want %d (stderr %q)", i, rs[i].ExitCode, code, rs[i].Stderr)
		}
	}
	if string(rs[1].Stdout) != "out\n" || string(rs[1].Stderr) != "err\n" || rs[0].Stderr != nil {
		t.Errorf("stdout/stderr mixed up: %+v %+v", rs[0], rs[1])
	}
	if len(rs[2].Stderr) == 0 || len(rs[5].Stderr) == 0 {
		t.Error("a syntax error and a missing command must say so on stderr")
	}
}

func testAfter(t *testing.T, c Conn) {
	rs := batch(t, c,
		Command{Script: "true"},                         // 0
		Command{Script: "false"},                        // 1
		Command{Script: "echo ran", After: []int{0}},    // 2 runs
		Command{Script: "echo no", After: []int{1}},     // 3 skipped: 1 failed
		Command{Script: "echo no", After: []int{3}},     // 4 skipped: 3 skipped
		Command{Script: "echo ran", After: []int{0, 2}}, // 5 runs
		Command{Script: "echo no", After: []int{0, 1}},  // 6 skipped
		Command{Script: "exit 0", After: []int{5}},      // 7 runs
	)
	skipped := []bool{false, false, false, true, true, false, true, false}
	for i, s := range skipped {
		if rs[i].Skipped != s {
			t.Errorf("command %d: skipped = %v, want %v", i, rs[i].Skipped, s)
		}
		if s && (rs[i].Stdout != nil || rs[i].OK()) {
			t.Errorf("skipped command %d: %+v", i, rs[i])
		}
	}
	if string(rs[2].Stdout) != "ran\n" || !rs[7].OK() {
		t.Errorf("got %+v", rs)
	}
}

func testIsolation(t *testing.T, c Conn) {
	rs := batch(t, c,
		Command{Script: "cd /; X=1; export Y=2; set -e; umask 077"},
		Command{Script: `pwd; echo "${X-unset} ${Y-unset}"; umask`},
		Command{Script: "exit"},
		Command{Script: "sleep 30 >/dev/null 2>&1 &"},
		Command{Script: "echo alive"},
	)
	if string(rs[1].Stdout) == "/\n" || !strings.Contains(string(rs[1].Stdout), "unset unset") || strings.Contains(string(rs[1].Stdout), "0077") {
		t.Errorf("state leaked between commands: %q", rs[1].Stdout)
	}
	if string(rs[4].Stdout) != "alive\n" {
		t.Errorf("got %q", rs[4].Stdout)
	}
}

// testIsolate runs a command through Isolate whose background child keeps
// the command's output and writes a forged line after the command ended:
// the line must reach no later command, and the command's own output,
// both streams and its exit status, must come through unchanged.
func testIsolate(t *testing.T, c Conn) {
	forged := "resource\tDirectory\tx\tmanaged\t{}"
	child := "(sleep 1; for i in 1 2 3 4 5 6; do printf '%s\\n' " + Quote(forged) + "; printf '%s\\n' " + Quote(forged) + " >&2; sleep 0.5; done) &"
	rs := batch(t, c,
		Command{Script: Isolate(quoteArgs([]string{"sh", "-c", "printf 'out\\n'; printf 'no newline'; printf 'err\\n' >&2; " + child + " exit 3"}))},
		Command{Script: "ls -l /proc/self/fd/ >/dev/null; echo next"},
	)
	if got := string(rs[0].Stdout); got != "out\nno newline" {
		t.Errorf("stdout of the isolated command: %q", got)
	}
	if got := string(rs[0].Stderr); got != "err\n" {
		t.Errorf("stderr of the isolated command: %q", got)
	}
	if rs[0].ExitCode != 3 {
		t.Errorf("exit code %d, want 3", rs[0].ExitCode)
	}
	// The child writes for three seconds; every batch in that time must see
	// only its own output.
	for i := range 8 {
		r := run(t, c, "sleep 0.4; echo query "+fmt.Sprint(i))
		if want := fmt.Sprintf("query %d\n", i); string(r.Stdout) != want || len(r.Stderr) != 0 {
			t.Fatalf("batch %d after the isolated command: stdout %q stderr %q", i, r.Stdout, r.Stderr)
		}
	}
	// Output comes through byte for byte, empty lines and all.
	for _, out := range []string{"", "\n", "a\n\n", "\n\nb"} {
		r := run(t, c, Isolate(quoteArgs([]string{"printf", "%s", out})))
		if string(r.Stdout) != out {
			t.Errorf("isolated printf %q printed %q", out, r.Stdout)
		}
	}
	// Its descriptors are fresh: stdin is not the shell's.
	r := run(t, c, Isolate(quoteArgs([]string{"sh", "-c", "readlink /proc/self/fd/0"})))
	if got := strings.TrimSpace(string(r.Stdout)); got != "/dev/null" {
		t.Errorf("stdin of an isolated command: %q, want /dev/null", got)
	}
	// Output beyond the limit is cut, with a note, and the status kept.
	r = run(t, c, Isolate(quoteArgs([]string{"sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' 'a' | fold -w 999; exit 4"})))
	if len(r.Stdout) > 1<<20 || len(r.Stdout) < 1<<19 || !strings.Contains(string(r.Stderr), "output cut") || r.ExitCode != 4 {
		t.Errorf("a large output: %d bytes, stderr %q, exit %d", len(r.Stdout), r.Stderr, r.ExitCode)
	}
}

func testInvalid(t *testing.T, c Conn) {
	for _, cmds := range [][]Command{
		{{Script: "true", After: []int{0}}},
		{{Script: "true"}, {Script: "true", After: []int{5}}},
		{{Script: "echo a\x00b"}},
	} {
		if _, err := c.Batch(context.Background(), cmds); err == nil {
			t.Errorf("batch %+v: want an error", cmds)
		}
	}
	// The connection is still fine.
	if r := run(t, c, "echo ok"); string(r.Stdout) != "ok\n" {
		t.Errorf("got %+v", r)
	}
}

// TestNoTrace runs on test hosts only: this machine's /tmp and process list
// are shared with other programs.
func TestNoTrace(t *testing.T) {
	t.Run("ssh", func(t *testing.T) { testNoTrace(t, dial(t, shared(t).Resource())) })
	t.Run("docker", func(t *testing.T) { testNoTrace(t, dial(t, dockerHost(shared(t).Container))) })
}

// testNoTrace: a payload reaches its command through a pipe, never a file;
// the shell creates no file at all; and its frame marker is in no process's
// argv, where any user of the host could read it.
func testNoTrace(t *testing.T, c Conn) {
	secret := make([]byte, 16)
	rand.Read(secret)
	payload := []byte(fmt.Sprintf("optimus-test-secret-%x\n", secret))
	rs := batch(t, c,
		Command{Script: "cat >/dev/null", Stdin: payload},
		// While this command holds the payload on its stdin, look for it in
		// files where a temporary copy could be, and for the marker in argv.
		Command{Script: `read -r s; ` +
			`grep -rlsF -e "$s" /tmp /var/tmp /root /run /home 2>/dev/null; ` +
			`find /tmp /var/tmp -name 'optimus.*' 2>/dev/null; ` +
			`ps -eo args | grep -c '[O]PTIMUS-' || true`, Stdin: payload},
	)
	if rs[0].ExitCode != 0 || string(rs[1].Stdout) != "0\n" {
		t.Errorf("files holding the payload, optimus temp files or argv with the marker: %q (stderr %q)", rs[1].Stdout, rs[1].Stderr)
	}
}

// testBounded floods stdout and stderr: the results keep their limits and
// say what was dropped, and the shell is still in step for the next command.
func testBounded(t *testing.T, c Conn) {
	rs := batch(t, c,
		Command{Script: "head -c 50000000 /dev/zero; head -c 3000000 /dev/zero >&2; echo done >&2", MaxStdout: 1000},
		Command{Script: "head -c 5000000 /dev/zero >&2; echo after"},
		Command{Script: "echo short", MaxStdout: 5},
	)
	if r := rs[0]; len(r.Stdout) != 1000 || !r.Truncated || r.StdoutSize != 50000000 {
		t.Errorf("flooded stdout: kept %d bytes of %d, truncated %v", len(r.Stdout), r.StdoutSize, r.Truncated)
	}
	for i, r := range rs[:2] {
		if len(r.Stderr) > MaxStderr+200 || !bytes.Contains(r.Stderr, []byte("only the first 64 KiB are kept")) {
			t.Errorf("command %d: flooded stderr kept %d bytes, ending %q", i, len(r.Stderr), r.Stderr[max(0, len(r.Stderr)-80):])
		}
	}
	if r := rs[1]; string(r.Stdout) != "after\n" || r.Truncated {
		t.Errorf("command after the flood: %+v", r.Stdout)
	}
	if r := rs[2]; string(r.Stdout) != "short" || !r.Truncated || r.StdoutSize != 6 {
		t.Errorf("MaxStdout 5 of \"short\\n\": %q, size %d, truncated %v", r.Stdout, r.StdoutSize, r.Truncated)
	}
}
