package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/test/testhost"
)

// deadlineManifests writes Hosts for hosts (the first with timeouts, when
// given) and a User every host gets, so that every host has work.
func deadlineManifests(t *testing.T, hosts []*testhost.Host, timeouts string) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	for i, h := range hosts {
		fmt.Fprintf(&b, `---
apiVersion: optimus.dev/v1alpha1
kind: Host
metadata: {name: %s}
spec:
  address: 127.0.0.1
  port: %d
  privateKeyFile: %s
  hostKey: {knownHostsFile: %s}
  connectTimeout: 10s
`, h.Name, h.Port, h.KeyFile, h.KnownHostsFile)
		if i == 0 && timeouts != "" {
			fmt.Fprintf(&b, "  timeouts: %s\n", timeouts)
		}
	}
	writeFile(t, filepath.Join(dir, "hosts.yaml"), b.String())
	writeFile(t, filepath.Join(dir, "users.yaml"), `apiVersion: optimus.dev/v1alpha1
kind: User
metadata: {name: dora}
spec: {shell: /bin/sh}
`)
	return dir
}

// onlyOn is a hostSelector for one host.
func onlyOn(h *testhost.Host) string {
	return "hostSelector: {matchLabels: {optimus.dev/host: " + h.Name + "}}"
}

// holdPipe makes a user process on h hold the write end of the FIFO path
// open without ever writing: whoever reads it waits forever.
func holdPipe(t *testing.T, h *testhost.Host, path string) {
	t.Helper()
	h.Exec(t, fmt.Sprintf("mkfifo -m 666 %[1]s && (setsid su nobody -s /bin/sh -c 'exec sleep 3600 >%[1]s' </dev/null >/dev/null 2>&1 &)", path))
}

// processes lists the command lines running in h's container.
func processes(t *testing.T, h *testhost.Host) string {
	t.Helper()
	return h.Exec(t, "ps -eo args=")
}

// jsonHost is one host of `apply -o json`.
type jsonHost struct {
	Host, State, Reason string
	Changed, NotRun     int
}

func jsonHosts(t *testing.T, r result) map[string]jsonHost {
	t.Helper()
	var rep struct{ Hosts []jsonHost }
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("-o json: %v\n%s", err, r)
	}
	m := map[string]jsonHost{}
	for _, h := range rep.Hosts {
		m[h.Host] = h
	}
	return m
}

// TestDeadlineHeldPipe: on one host, an Exec guard reads a FIFO whose
// writer (a user's background process) never writes. With a short observe
// deadline on that host, the run ends with reason timeout there, the other
// host converges, apply exits 3, and the reader is gone from the host.
func TestDeadlineHeldPipe(t *testing.T) {
	hosts := testhost.Start(t, 2)
	stuck, fine := hosts[0], hosts[1]
	holdPipe(t, stuck, "/tmp/held")
	dir := deadlineManifests(t, hosts, "{observe: 3s}")
	writeFile(t, filepath.Join(dir, "guard.yaml"), `apiVersion: optimus.dev/v1alpha1
kind: Exec
metadata: {name: reads-held-pipe}
spec:
  `+onlyOn(stuck)+`
  command: "true"
  unless: cat /tmp/held
`)
	state := t.TempDir()
	start := time.Now()
	r := optimusBin(t, "apply", "-f", dir, "--yes", "--state-dir", state, "-o", "json")
	if r.code != 3 {
		t.Fatalf("apply with a held pipe on %s: want exit 3\n%s", stuck.Name, r)
	}
	// The guard's own timeout is 5 minutes: only the deadline ended it.
	if took := time.Since(start); took > 4*time.Minute {
		t.Errorf("apply took %s: the observe deadline did not end it", took)
	}
	got := jsonHosts(t, r)
	if h := got[stuck.Name]; h.State != "failed" || !strings.Contains(h.Reason, "observe deadline of 3s passed") || !strings.Contains(h.Reason, "timeout") && !strings.Contains(h.Reason, "stopped") {
		t.Errorf("%s: want failed on its observe deadline, got %+v", stuck.Name, h)
	}
	if h := got[fine.Name]; h.State != "converged" || h.Changed != 1 {
		t.Errorf("%s: want converged with one change, got %+v", fine.Name, h)
	}
	if !users(t, fine)["dora"] {
		t.Errorf("%s: dora was not created", fine.Name)
	}
	// The reader and everything the batch started are gone; the user's
	// own process, outside the batch, is not Optimus's to kill.
	ps := processes(t, stuck)
	if strings.Contains(ps, "cat /tmp/held") {
		t.Errorf("the reader of the held pipe still runs on %s:\n%s", stuck.Name, ps)
	}
	if !strings.Contains(ps, "sleep 3600") {
		t.Errorf("the user's own process was killed on %s:\n%s", stuck.Name, ps)
	}
	runs := listHistory(t, state)
	if len(runs) != 1 || runs[0].Outcome != "hosts failed" {
		t.Fatalf("history: want one run with hosts failed, got %+v", runs)
	}
	show := optimusBin(t, "history", "show", fmt.Sprint(runs[0].ID), "--state-dir", state)
	if !strings.Contains(show.stdout, "observe deadline of 3s passed") {
		t.Errorf("history show does not give the deadline as the reason:\n%s", show)
	}

	// An Exec's own timeout bounds its action, whatever the host's act
	// deadline: the command fails with the timeout's status, nothing hangs.
	dir2 := deadlineManifests(t, hosts[:1], "{act: 1h}")
	writeFile(t, filepath.Join(dir2, "exec.yaml"), `apiVersion: optimus.dev/v1alpha1
kind: Exec
metadata: {name: waits-on-held-pipe}
spec:
  command: cat /tmp/held
  creates: /root/never
  timeout: 3s
`)
	r = optimusBin(t, "apply", "-f", dir2, "--yes", "--no-history")
	if r.code != 3 || !strings.Contains(r.stdout, "timed out after 3s") {
		t.Fatalf("an Exec reading a held pipe with timeout 3s: want exit 3 and its timeout\n%s", r)
	}
	if ps := processes(t, stuck); strings.Contains(ps, "cat /tmp/held") {
		t.Errorf("the Exec's reader still runs on %s:\n%s", stuck.Name, ps)
	}
}

// startOptimus starts the optimus binary with args, its output collected.
func startOptimus(t *testing.T, args ...string) (*exec.Cmd, *syncBuffer, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "optimus"), args...)
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("optimus %s:\n--- stdout\n%s--- stderr\n%s", strings.Join(args, " "), out.String(), errb.String())
		}
	})
	return cmd, &out, &errb
}

// wait waits for cmd to exit and returns its exit status; a process still
// running after within fails the test.
func waitExit(t *testing.T, cmd *exec.Cmd, within time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(within):
		t.Fatalf("optimus still runs %s after the signal", within)
		return -1
	}
}

// TestInterruptDuringObserve sends SIGTERM to apply, then SIGINT to diff,
// while one host's observe is stuck in a guard that reads a held pipe: they
// exit 143 and 130, say they were interrupted, and the history records both
// runs as interrupted (never converged); --retry-failed retries the hosts.
func TestInterruptDuringObserve(t *testing.T) {
	hosts := testhost.Start(t, 2)
	slow := hosts[0]
	holdPipe(t, slow, "/tmp/gate")
	dir := deadlineManifests(t, hosts, "")
	writeFile(t, filepath.Join(dir, "guard.yaml"), `apiVersion: optimus.dev/v1alpha1
kind: Exec
metadata: {name: slow-guard}
spec:
  `+onlyOn(slow)+`
  command: "true"
  unless: cat /tmp/gate
`)
	state := t.TempDir()
	for _, tc := range []struct {
		command string
		sig     syscall.Signal
		code    int
	}{{"apply", syscall.SIGTERM, 143}, {"diff", syscall.SIGINT, 130}} {
		args := []string{tc.command, "-f", dir, "--state-dir", state}
		if tc.command == "apply" {
			args = append(args, "--yes")
		}
		cmd, out, _ := startOptimus(t, args...)
		eventually(t, 60*time.Second, "the slow guard to run on "+slow.Name, func() bool { return strings.Contains(processes(t, slow), "cat /tmp/gate") })
		if err := cmd.Process.Signal(tc.sig); err != nil {
			t.Fatal(err)
		}
		if code := waitExit(t, cmd, 60*time.Second); code != tc.code {
			t.Errorf("%s after %s: exit %d, want %d", tc.command, tc.sig, code, tc.code)
		}
		if o := out.String(); !strings.Contains(o, "Interrupted by") || !strings.Contains(o, slow.Name+": not (fully) observed") {
			t.Errorf("%s after %s: the output does not say what was interrupted:\n%s", tc.command, tc.sig, o)
		}
		if ps := processes(t, slow); strings.Contains(ps, "cat /tmp/gate") {
			t.Errorf("%s after %s: the guard still runs on %s:\n%s", tc.command, tc.sig, slow.Name, ps)
		}
	}
	runs := listHistory(t, state)
	if len(runs) != 2 {
		t.Fatalf("history: want 2 runs, got %+v", runs)
	}
	for _, run := range runs {
		if run.Outcome != "interrupted" {
			t.Errorf("run %d (%s): outcome %q, want interrupted", run.ID, run.Command, run.Outcome)
		}
		for _, h := range run.Hosts {
			if h.Host == slow.Name && h.State != "interrupted" {
				t.Errorf("run %d (%s): %s recorded as %q, want interrupted", run.ID, run.Command, h.Host, h.State)
			}
		}
	}
	if r := optimusBin(t, "history", "--state-dir", state); !strings.Contains(r.stdout, "interrupted") || strings.Contains(r.stdout, "converged") {
		t.Errorf("history table: want interrupted runs, no converged one\n%s", r)
	}
	if sqlite3, err := exec.LookPath("sqlite3"); err == nil {
		out, err := exec.Command(sqlite3, filepath.Join(state, "history.db"),
			"SELECT r.outcome, h.state FROM runs r JOIN run_hosts h ON h.run_id = r.id WHERE r.command = 'apply' AND h.host = '"+slow.Name+"'").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "interrupted|interrupted" {
			t.Errorf("sqlite3: %v %q, want the apply and %s recorded as interrupted", err, out, slow.Name)
		}
	}
	// With the pipe replaced by a file the guard reads at once, the
	// interrupted apply is retried (its hosts count as not converged) and
	// converges.
	slow.Exec(t, "rm /tmp/gate && echo >/tmp/gate")
	r := optimusBin(t, "apply", "-f", dir, "--yes", "--state-dir", state, "--retry-failed")
	if r.code != 0 || !strings.Contains(r.stderr, "retrying 2 hosts") {
		t.Fatalf("--retry-failed after the interrupted apply: want both hosts retried and converged\n%s", r)
	}
	for _, h := range hosts {
		if !users(t, h)["dora"] {
			t.Errorf("%s: dora was not created by the retry", h.Name)
		}
	}
}

// TestInterruptKillsRemoteWork sends SIGINT twice to an apply whose Exec
// runs a 90 s sleep that ignores SIGTERM and SIGINT: apply exits 130 long
// before the sleep would have ended, says what was done and what was not,
// and the sleep is gone from the host.
func TestInterruptKillsRemoteWork(t *testing.T) {
	hosts := testhost.Start(t, 1)
	h := hosts[0]
	dir := deadlineManifests(t, hosts, "")
	writeFile(t, filepath.Join(dir, "exec.yaml"), `apiVersion: optimus.dev/v1alpha1
kind: Exec
metadata: {name: long}
spec:
  command: trap '' TERM INT; sleep 90
  creates: /root/never
  dependsOn: [{kind: User, name: dora}]
---
apiVersion: optimus.dev/v1alpha1
kind: Exec
metadata: {name: after-long}
spec:
  command: touch /root/after-long
  creates: /root/after-long
  dependsOn: [{kind: Exec, name: long}]
`)
	state := t.TempDir()
	start := time.Now()
	cmd, out, _ := startOptimus(t, "apply", "-f", dir, "--yes", "--state-dir", state)
	eventually(t, 60*time.Second, "the sleep to run on "+h.Name, func() bool { return strings.Contains(processes(t, h), "sleep 90") })
	for range 2 {
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if code := waitExit(t, cmd, 60*time.Second); code != 130 {
		t.Errorf("apply after two SIGINTs: exit %d, want 130", code)
	}
	if took := time.Since(start); took >= 90*time.Second {
		t.Errorf("apply ended after %s: not before the sleep would have", took)
	}
	eventually(t, 30*time.Second, "the sleep to be gone from "+h.Name, func() bool { return !strings.Contains(processes(t, h), "sleep 90") })
	o := out.String()
	for _, want := range []string{"Interrupted by SIGINT", h.Name + ": 1 action done, 1 failed or stopped, 1 not run", "stopped while running"} {
		if !strings.Contains(o, want) {
			t.Errorf("output lacks %q:\n%s", want, o)
		}
	}
	if !users(t, h)["dora"] {
		t.Errorf("dora, created before the sleep, is missing")
	}
	if strings.Contains(h.Exec(t, "ls /root"), "after-long") {
		t.Errorf("the action after the interrupted one ran")
	}
	runs := listHistory(t, state)
	if len(runs) != 1 || runs[0].Outcome != "interrupted" || len(runs[0].Hosts) != 1 || runs[0].Hosts[0].State != "interrupted" {
		t.Errorf("history: want one interrupted run with %s interrupted, got %+v", h.Name, runs)
	}
}
