package e2e

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // to hold the history's lock as another process would

	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/test/testhost"
)

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// optimusBin runs the built optimus binary, as a user or CI does.
func optimusBin(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "optimus"), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("optimus %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// historyRun is the part of `optimus history -o json` the tests read.
type historyRun struct {
	ID      int64
	Command string
	Who     string
	Outcome string
	Digest  string `json:"manifestsDigest"`
	Hosts   []struct {
		Host  string
		State string
	}
}

func listHistory(t *testing.T, state string, args ...string) []historyRun {
	t.Helper()
	r := optimusBin(t, append([]string{"history", "--state-dir", state, "-o", "json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("history: %s", r)
	}
	var runs []historyRun
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil {
		t.Fatalf("history -o json: %v\n%s", err, r)
	}
	return runs
}

// applyHosts are the hosts an `apply -o json` reported on.
func applyHosts(t *testing.T, r result) []string {
	t.Helper()
	var rep struct{ Hosts []struct{ Host string } }
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("apply -o json: %v\n%s", err, r)
	}
	var names []string
	for _, h := range rep.Hosts {
		names = append(names, h.Host)
	}
	return names
}

// TestRetryFailed stops one host: apply fails on it alone; --retry-failed
// dials only that host, and the set it retries shrinks to nothing once the
// host is back. Every run is in the history.
func TestRetryFailed(t *testing.T) {
	hosts := startFixed(t, 3)
	dir := seedDir(t, hosts)
	state := t.TempDir()
	down := hosts[2]
	down.Stop(t)

	r := optimusBin(t, "apply", "-f", dir, "--yes", "--state-dir", state)
	if r.code != 3 {
		t.Fatalf("apply with %s stopped: want exit 3\n%s", down.Name, r)
	}
	// diff's JUnit report names the unreachable host as an errored case.
	r = optimusBin(t, "diff", "-f", dir, "-o", "junit", "--no-history")
	if r.code != 2 {
		t.Fatalf("diff with a stopped host: want exit 2\n%s", r)
	}
	doc := parseJUnit(t, r.stdout)
	if c := doc.find(down.Name, "Host/"+down.Name); c == nil || c.Error == nil {
		t.Errorf("JUnit: want an errored Host/%s case\n%s", down.Name, r.stdout)
	}

	r = optimusBin(t, "apply", "-f", dir, "--yes", "--state-dir", state, "--retry-failed", "-o", "json")
	if r.code != 3 {
		t.Fatalf("--retry-failed with the host still down: want exit 3\n%s", r)
	}
	if got := applyHosts(t, r); len(got) != 1 || got[0] != down.Name {
		t.Fatalf("--retry-failed worked on %v, want only %s\n%s", got, down.Name, r)
	}

	down.Start(t)
	r = optimusBin(t, "apply", "-f", dir, "--yes", "--state-dir", state, "--retry-failed")
	if r.code != 0 || !strings.Contains(r.stdout, "1 host in") {
		t.Fatalf("--retry-failed with the host back: want exit 0 on 1 host\n%s", r)
	}
	if u := users(t, down); !u["alice"] || !u["bob"] {
		t.Errorf("%s did not converge: %v", down.Name, u)
	}
	r = optimusBin(t, "apply", "-f", dir, "--yes", "--state-dir", state, "--retry-failed")
	if r.code != 0 || !strings.Contains(r.stderr, "no failed hosts in the last run") {
		t.Fatalf("--retry-failed with nothing left: want exit 0 and 'no failed hosts in the last run'\n%s", r)
	}

	runs := listHistory(t, state)
	if len(runs) != 3 {
		t.Fatalf("history has %d runs, want 3 (the empty retry acted on nothing): %+v", len(runs), runs)
	}
	wantHosts := []int{1, 1, 3} // newest first
	for i, run := range runs {
		if run.Command != "apply" || len(run.Hosts) != wantHosts[i] || run.Digest != runs[0].Digest || !strings.Contains(run.Who, "@") {
			t.Errorf("run %d: %+v, want an apply by user@machine on %d hosts of the same manifests", run.ID, run, wantHosts[i])
		}
	}
	if runs[0].Outcome != "converged" || runs[2].Outcome != "hosts failed" {
		t.Errorf("outcomes: newest %q, oldest %q", runs[0].Outcome, runs[2].Outcome)
	}
	if failed := listHistory(t, state, "--failed", "--host", down.Name); len(failed) != 2 {
		t.Errorf("history --failed --host %s: %d runs, want 2", down.Name, len(failed))
	}
	if none := listHistory(t, state, "--failed", "--host", hosts[0].Name); len(none) != 0 {
		t.Errorf("history --failed --host %s: %d runs, want none", hosts[0].Name, len(none))
	}
	r = optimusBin(t, "history", "--state-dir", state)
	if r.code != 0 || strings.Count(r.stdout, "apply") != 3 {
		t.Errorf("history table: want the 3 applies\n%s", r)
	}
	r = optimusBin(t, "history", "show", fmt.Sprint(runs[2].ID), "--state-dir", state)
	for _, want := range []string{"+ User/alice: create user alice ... ok", hosts[0].Name, down.Name, "failed", "hosts failed (exit 3)"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("history show %d: want %q\n%s", runs[2].ID, want, r)
		}
	}

	// The records are plain SQLite, readable with the sqlite3 command line.
	if sqlite3, err := exec.LookPath("sqlite3"); err == nil {
		out, err := exec.Command(sqlite3, filepath.Join(state, "history.db"),
			"SELECT count(*) FROM run_hosts WHERE host = '"+down.Name+"' AND state = 'failed'").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "2" {
			t.Errorf("sqlite3: %v %s, want 2 failed records of %s", err, out, down.Name)
		}
	}
}

// TestHistorySurvivesKill kills an apply with SIGKILL while it acts: the
// history still opens, shows the run as incomplete, and the next run works
// and is recorded.
func TestHistorySurvivesKill(t *testing.T) {
	hosts := testhost.Start(t, 1)
	dir := t.TempDir()
	hostsManifest(t, dir, hosts)
	writeFile(t, filepath.Join(dir, "slow.yaml"), `apiVersion: optimus.dev/v1alpha1
kind: Exec
metadata: {name: slow}
spec:
  command: sleep 4 && touch /root/slow-done
  creates: /root/slow-done
`)
	state := t.TempDir()
	cmd := exec.Command(filepath.Join(bin, "optimus"), "apply", "-f", dir, "--yes", "--state-dir", state)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the apply killed midway:\n%s", out.String())
		}
	})
	eventually(t, 60*time.Second, "apply to start acting", func() bool { return strings.Contains(out.String(), "Plan (cycle 1)") })
	time.Sleep(time.Second) // into the act phase: the sleep runs on the host
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	if sqlite3, err := exec.LookPath("sqlite3"); err == nil {
		out, err := exec.Command(sqlite3, filepath.Join(state, "history.db"), "PRAGMA integrity_check").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "ok" {
			t.Errorf("integrity_check after SIGKILL: %v %s", err, out)
		}
	}
	runs := listHistory(t, state)
	if len(runs) != 1 || runs[0].Outcome != "incomplete" {
		t.Fatalf("after SIGKILL: want one incomplete run, got %+v\n%s", runs, out.String())
	}
	r := optimusBin(t, "apply", "-f", dir, "--yes", "--state-dir", state)
	if r.code != 0 {
		t.Fatalf("apply after the killed one: %s", r)
	}
	runs = listHistory(t, state)
	if len(runs) != 2 || runs[0].Outcome != "converged" || runs[1].Outcome != "incomplete" {
		t.Errorf("history after the next apply: %+v", runs)
	}
	if r := optimusBin(t, "history", "--state-dir", state); r.code != 0 || !strings.Contains(r.stdout, "incomplete") {
		t.Errorf("history table: %s", r)
	}

	// A database locked by someone else when the run ends: the run's
	// effect stays, a warning says it was not recorded, the exit status is
	// still the run's.
	hosts[0].Exec(t, "rm /root/slow-done")
	cmd = exec.Command(filepath.Join(bin, "optimus"), "apply", "-f", dir, "--yes", "--state-dir", state)
	var out2, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out2, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the apply whose end finds the history locked:\n%s%s", out2.String(), errb.String())
		}
	})
	eventually(t, 60*time.Second, "apply to start acting", func() bool { return strings.Contains(out2.String(), "Plan (cycle 1)") })
	db, err := sql.Open("sqlite", filepath.Join(state, "history.db")+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin() // holds the write lock until the apply gave up
	if err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	_ = tx.Rollback()
	if err != nil || !strings.Contains(errb.String(), "this run was not recorded") || !strings.Contains(errb.String(), "locked") {
		t.Fatalf("apply with the history locked at its end: %v, want exit 0 and a warning\n%s%s", err, out2.String(), errb.String())
	}
	if got := strings.TrimSpace(hosts[0].Exec(t, "test -e /root/slow-done && echo yes")); got != "yes" {
		t.Errorf("the apply's effect on the host is missing")
	}
}

// TestCorruptHistory: a damaged database stops apply before it touches a
// host, names the file, and --no-history applies all the same.
func TestCorruptHistory(t *testing.T) {
	hosts := testhost.Start(t, 1)
	dir := seedDir(t, hosts)
	state := t.TempDir()
	db := filepath.Join(state, "history.db")
	if err := os.WriteFile(db, bytes.Repeat([]byte("not a database "), 400), 0o600); err != nil {
		t.Fatal(err)
	}
	r := optimusBin(t, "apply", "-f", dir, "--yes", "--state-dir", state)
	if r.code != 1 || !strings.Contains(r.stderr, db) || !strings.Contains(r.stderr, "--no-history") {
		t.Fatalf("apply with a corrupt history: want exit 1 naming %s and --no-history\n%s", db, r)
	}
	if users(t, hosts[0])["alice"] {
		t.Fatal("apply changed the host although it refused to run")
	}
	r = optimusBin(t, "history", "--state-dir", state)
	if r.code != 1 || !strings.Contains(r.stderr, db) {
		t.Errorf("history with a corrupt database: want exit 1 naming the file\n%s", r)
	}
	r = optimusBin(t, "apply", "-f", dir, "--yes", "--state-dir", state, "--no-history")
	if r.code != 0 || !users(t, hosts[0])["alice"] {
		t.Fatalf("apply --no-history: want exit 0 and alice created\n%s", r)
	}
}

// TestJUnitAndRedactedRecords checks diff's and apply's JUnit reports and
// that a password hash reaches neither them nor the history database,
// while the history shows its change as apply printed it.
func TestJUnitAndRedactedRecords(t *testing.T) {
	hosts := testhost.Start(t, 1)
	dir := seedDir(t, hosts)
	host := hosts[0].Name
	const hash = "$6$saltsalt$Yv1lMZSNmPvcUrz7yXqCKOIkQjvl9h3bx4Nq8L8u0/tKq2wOGg1oz9uHTcHBPwUzW6ZLGuXYdJMpLJmTjzIJb."
	t.Setenv("CAROL_HASH", hash)
	writeFile(t, filepath.Join(dir, "carol.yaml"), `apiVersion: optimus.dev/v1alpha1
kind: User
metadata: {name: carol}
spec:
  passwordHashFrom: {env: CAROL_HASH}
`)
	state := filepath.Join(t.TempDir(), "state") // created by optimus

	r := optimusBin(t, "diff", "-f", dir, "-o", "junit", "--state-dir", state)
	if r.code != 1 {
		t.Fatalf("diff: want exit 1\n%s", r)
	}
	doc := parseJUnit(t, r.stdout)
	alice := doc.find(host, "User/alice")
	if alice == nil || alice.Failure == nil || !strings.Contains(alice.Failure.Text, "create user alice") {
		t.Errorf("JUnit diff: want a failed User/alice case with its change\n%s", r.stdout)
	}
	if c := doc.find(host, "User/carol"); c == nil || c.Failure == nil || !strings.Contains(c.Failure.Text, reconcilers.Redacted) {
		t.Errorf("JUnit diff: want a failed User/carol case with a redacted password\n%s", r.stdout)
	}
	if c := doc.find(host, "Host/"+host); c == nil || c.Failure != nil || c.Error != nil {
		t.Errorf("JUnit diff: the reachable host's case should pass\n%s", r.stdout)
	}
	if oscar := doc.find(host, "User/oscar"); oscar == nil || oscar.Failure != nil {
		t.Errorf("JUnit diff: User/oscar (already absent) should pass\n%s", r.stdout)
	}

	r = optimusBin(t, "apply", "-f", dir, "--yes", "-o", "junit", "--state-dir", state)
	if r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	doc = parseJUnit(t, r.stdout)
	if doc.Failures != 0 || doc.Errors != 0 || doc.Tests < 4 || doc.find(host, "User/carol") == nil {
		t.Errorf("JUnit apply: want every case passed\n%s", r.stdout)
	}
	hosts[0].Exec(t, "usermod -p '$6$other$abc' carol")
	r = optimusBin(t, "apply", "-f", dir, "--yes", "--state-dir", state)
	if r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	show := optimusBin(t, "history", "show", "last", "--state-dir", state)
	if show.code != 0 || !strings.Contains(show.stdout, "password") || !strings.Contains(show.stdout, reconcilers.Redacted) {
		t.Errorf("history show: want the redacted password change\n%s", show)
	}
	for _, o := range []result{r, show} {
		if strings.Contains(o.stdout+o.stderr, "Yv1lMZSNmPvcUrz7") {
			t.Errorf("the password hash appears in output\n%s", o)
		}
	}
	files, _ := filepath.Glob(filepath.Join(state, "history.db*"))
	if len(files) == 0 {
		t.Fatal("no history database")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("Yv1lMZSNmPvcUrz7")) {
			t.Errorf("the password hash is stored in %s", f)
		}
		if st, err := os.Stat(f); err == nil && st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want no access for group and others", f, st.Mode().Perm())
		}
	}
	if st, err := os.Stat(state); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("state directory: %v, mode %v, want 0700", err, st.Mode().Perm())
	}
}

// junitDoc is a JUnit report read back with encoding/xml.
type junitDoc struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Suites   []struct {
		Name  string      `xml:"name,attr"`
		Cases []junitCase `xml:"testcase"`
	} `xml:"testsuite"`
}

type junitCase struct {
	Name    string `xml:"name,attr"`
	Failure *struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	} `xml:"failure"`
	Error *struct {
		Message string `xml:"message,attr"`
	} `xml:"error"`
}

func parseJUnit(t *testing.T, s string) *junitDoc {
	t.Helper()
	var doc junitDoc
	if err := xml.Unmarshal([]byte(s), &doc); err != nil {
		t.Fatalf("JUnit XML: %v\n%s", err, s)
	}
	return &doc
}

func (d *junitDoc) find(suite, name string) *junitCase {
	for _, s := range d.Suites {
		if s.Name != suite {
			continue
		}
		for i := range s.Cases {
			if s.Cases[i].Name == name {
				return &s.Cases[i]
			}
		}
	}
	return nil
}

// TestControllerRecordsRuns: the controller records each host reconcile in
// the run history of its own state directory.
func TestControllerRecordsRuns(t *testing.T) {
	hosts := testhost.Start(t, 1)
	dir := seedDir(t, hosts)
	c := startController(t, dir)
	var runs []historyRun
	eventually(t, 60*time.Second, "a recorded controller reconcile", func() bool {
		r := optimusBin(t, "history", "--state-dir", c.stateDir, "-o", "json")
		_ = json.Unmarshal([]byte(r.stdout), &runs)
		for _, run := range runs {
			if run.Command == "controller" && run.Outcome == "converged" {
				return true
			}
		}
		return false
	})
	oldest := runs[len(runs)-1]
	if len(oldest.Hosts) != 1 || oldest.Hosts[0].Host != hosts[0].Name || oldest.Digest == "" {
		t.Errorf("controller run: %+v, want one host, %s, and the manifests digest", oldest, hosts[0].Name)
	}
	r := optimusBin(t, "history", "show", fmt.Sprint(oldest.ID), "--state-dir", c.stateDir)
	if r.code != 0 || !strings.Contains(r.stdout, "+ User/alice: create user alice ... ok") {
		t.Errorf("history show of the first reconcile: want alice created\n%s", r)
	}
}

// BenchmarkNoopRecording prints what recording costs a no-op apply of the
// seed scenario on three hosts: the same apply with and without history.
func BenchmarkNoopRecording(b *testing.B) {
	hosts := testhost.Start(b, 3)
	dir := seedDir(b, hosts)
	state := b.TempDir()
	if r := run(b, nil, "apply", "-f", dir, "--yes", "--state-dir", state); r.code != 0 {
		b.Fatalf("first apply: %s", r)
	}
	for _, mode := range []string{"--state-dir=" + state, "--no-history"} {
		name := "recorded"
		if mode == "--no-history" {
			name = "no-history"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if r := run(b, nil, "apply", "-f", dir, "--yes", mode); r.code != 0 {
					b.Fatalf("no-op apply: %s", r)
				}
			}
		})
	}
}
