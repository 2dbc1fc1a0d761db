package history

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/manifest"
)

func open(t *testing.T, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func sampleRun(digest string, states ...string) *Run {
	r := &Run{Command: CommandApply, Who: "op@box", Digest: digest, Manifests: []string{"manifests/"}, Outcome: OutcomeConverged}
	for i, st := range states {
		h := Host{Name: fmt.Sprintf("web%d", i+1), State: st, RoundTrips: 2, Connects: 1}
		if st == StateFailed {
			h.Reason = "connection refused"
		}
		h.Actions = []Action{{Cycle: 1, Resource: "User/alice", Op: "create", Description: "create user alice", Status: "ok",
			Lines: []string{`shell: "" -> /bin/bash`, "password: (redacted) -> (redacted)"}}}
		r.Hosts = append(r.Hosts, h)
	}
	return r
}

func TestOpenCreatesPrivateFilesAndMigrates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "optimus")
	s := open(t, dir, Options{})
	for path, want := range map[string]os.FileMode{dir: 0o700, s.Path(): 0o600} {
		st, err := os.Stat(path)
		if err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v, mode %v, want %v", path, err, st.Mode().Perm(), want)
		}
	}
	var version int
	if err := s.db.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != len(migrations) {
		t.Errorf("user_version = %d (%v), want %d", version, err, len(migrations))
	}
	var mode string
	if err := s.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
	_ = s.Close()
	// Opening again applies nothing twice.
	open(t, dir, Options{})
}

func TestRecordListGet(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), Options{})
	first := sampleRun("d1", StateConverged, StateFailed)
	if err := s.Begin(ctx, first); err != nil {
		t.Fatal(err)
	}
	// Begun but not finished: listed as incomplete, never a retry basis.
	runs, err := s.List(ctx, Filter{})
	if err != nil || len(runs) != 1 || runs[0].Outcome != OutcomeIncomplete || runs[0].Finished() {
		t.Fatalf("after Begin: %+v, %v", runs, err)
	}
	if last, err := s.LastFinished(ctx, CommandApply, "d1"); err != nil || last != nil {
		t.Fatalf("LastFinished of an unfinished run: %+v, %v", last, err)
	}
	first.Outcome, first.ExitCode = OutcomeHostsFailed, 3
	if err := s.Finish(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx, sampleRun("d2", StateConverged)); err != nil {
		t.Fatal(err)
	}

	got, err := s.Get(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Who != "op@box" || got.ExitCode != 3 || !got.Finished() || len(got.Hosts) != 2 || got.Manifests[0] != "manifests/" {
		t.Fatalf("Get: %+v", got)
	}
	if a := got.Hosts[0].Actions; len(a) != 1 || len(a[0].Lines) != 2 || a[0].Lines[1] != "password: (redacted) -> (redacted)" {
		t.Errorf("actions read back: %+v", a)
	}
	if nc := got.NotConverged(); len(nc) != 1 || nc[0] != "web2" {
		t.Errorf("NotConverged = %v", nc)
	}
	last, err := s.LastFinished(ctx, CommandApply, "d1")
	if err != nil || last == nil || last.ID != first.ID {
		t.Errorf("LastFinished(d1) = %+v, %v", last, err)
	}
	if last, _ := s.LastFinished(ctx, CommandDiff, "d1"); last != nil {
		t.Errorf("LastFinished must not mix commands: %+v", last)
	}
	if err := s.Finish(ctx, &Run{Command: CommandApply, Digest: "d1", Outcome: OutcomeError, ExitCode: 1}); err != nil {
		t.Fatal(err)
	}
	if last, _ := s.LastFinished(ctx, CommandApply, "d1"); last == nil || last.ID != first.ID {
		t.Errorf("a run that stopped on an error must not hide the last real one: %+v", last)
	}

	for _, c := range []struct {
		f    Filter
		want int
	}{
		{Filter{}, 3},
		{Filter{Host: "web2"}, 1},
		{Filter{Failed: true}, 1},
		{Filter{Host: "web1", Failed: true}, 0},
		{Filter{Limit: 1}, 1},
	} {
		runs, err := s.List(ctx, c.f)
		if err != nil || len(runs) != c.want {
			t.Errorf("List(%+v) = %d runs (%v), want %d", c.f, len(runs), err, c.want)
		}
	}
	if _, err := s.Get(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(999) = %v, want ErrNotFound", err)
	}
}

func TestRetention(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), Options{Keep: 3, MaxAge: 24 * time.Hour})
	old := sampleRun("d", StateConverged)
	old.Start, old.End = time.Now().Add(-48*time.Hour), time.Now().Add(-48*time.Hour)
	if err := s.Finish(ctx, old); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for range 5 {
		r := sampleRun("d", StateConverged)
		if err := s.Finish(ctx, r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	runs, err := s.List(ctx, Filter{})
	if err != nil || len(runs) != 3 || runs[0].ID != ids[4] || runs[2].ID != ids[2] {
		t.Fatalf("after retention: %d runs (%v), want the newest 3", len(runs), err)
	}
	var orphans int
	if err := s.db.QueryRow("SELECT count(*) FROM run_actions WHERE run_id NOT IN (SELECT id FROM runs)").Scan(&orphans); err != nil || orphans != 0 {
		t.Errorf("actions of deleted runs remain: %d (%v)", orphans, err)
	}

	// Age alone: the old run goes as soon as anything is recorded.
	s2 := open(t, t.TempDir(), Options{Keep: -1, MaxAge: 24 * time.Hour})
	old.ID = 0
	if err := s2.Finish(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := s2.Finish(ctx, sampleRun("d", StateConverged)); err != nil {
		t.Fatal(err)
	}
	if runs, _ := s2.List(ctx, Filter{}); len(runs) != 1 {
		t.Errorf("MaxAge kept %d runs, want 1", len(runs))
	}
}

// TestRecordBatchAppliesRetention: a batch larger than Keep keeps the
// newest runs of the batch, and an old run goes by age.
func TestRecordBatchAppliesRetention(t *testing.T) {
	ctx := t.Context()
	s := open(t, t.TempDir(), Options{Keep: 3, MaxAge: 24 * time.Hour})
	old := sampleRun("d", StateConverged)
	old.Start = time.Now().Add(-48 * time.Hour)
	if err := s.Record(ctx, old); err != nil {
		t.Fatal(err)
	}
	batch := []*Run{sampleRun("d", StateConverged), sampleRun("d", StateConverged)}
	if err := s.Record(ctx, batch...); err != nil {
		t.Fatal(err)
	}
	if runs, _ := s.List(ctx, Filter{}); len(runs) != 2 || runs[1].ID != batch[0].ID {
		t.Fatalf("after a batch: %d runs, want the batch alone (the old one gone by age)", len(runs))
	}
	batch = nil
	for range 5 {
		batch = append(batch, sampleRun("d", StateConverged))
	}
	if err := s.Record(ctx, batch...); err != nil {
		t.Fatal(err)
	}
	runs, err := s.List(ctx, Filter{})
	if err != nil || len(runs) != 3 || runs[0].ID != batch[4].ID || runs[2].ID != batch[2].ID {
		t.Fatalf("after a batch beyond Keep: %d runs (%v), want the batch's newest 3", len(runs), err)
	}
	if err := s.Record(ctx, runs[0]); err == nil {
		t.Error("Record of a run already recorded succeeded")
	}
}

func TestCorruptFileNamesIt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, []byte(strings.Repeat("garbage ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), dir, Options{})
	var e *Error
	if !errors.As(err, &e) || e.Path != path || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a database") {
		t.Fatalf("Open of a corrupt file: %v", err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	if _, err := s.db.Exec(fmt.Sprintf("PRAGMA user_version = %d", len(migrations)+1)); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	if _, err := Open(context.Background(), dir, Options{}); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a newer schema: %v", err)
	}
}

// TestConcurrentWriters opens one new file from several stores at once, as
// several processes would, and records from all of them.
func TestConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(context.Background(), dir, Options{})
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			errs <- s.Finish(context.Background(), sampleRun(fmt.Sprint(i), StateConverged))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	runs, err := open(t, dir, Options{}).List(context.Background(), Filter{})
	if err != nil || len(runs) != 8 {
		t.Errorf("%d runs recorded (%v), want 8", len(runs), err)
	}
}

func TestDigest(t *testing.T) {
	user := func(name, shell, file string) *v1alpha1.Resource {
		return &v1alpha1.Resource{TypeMeta: v1alpha1.TypeMeta{APIVersion: "optimus.dev/v1alpha1", Kind: "User"},
			Metadata: v1alpha1.ObjectMeta{Name: name}, Spec: &v1alpha1.UserSpec{Shell: shell},
			Origin: v1alpha1.Origin{File: file, Line: 1}}
	}
	a := Digest(&manifest.Set{Resources: []*v1alpha1.Resource{user("alice", "/bin/bash", "a.yaml"), user("bob", "/bin/sh", "a.yaml")}})
	moved := Digest(&manifest.Set{Resources: []*v1alpha1.Resource{user("bob", "/bin/sh", "b.yaml"), user("alice", "/bin/bash", "c.yaml")}})
	changed := Digest(&manifest.Set{Resources: []*v1alpha1.Resource{user("alice", "/bin/zsh", "a.yaml"), user("bob", "/bin/sh", "a.yaml")}})
	if a != moved {
		t.Errorf("moving and reordering documents changed the digest")
	}
	if a == changed {
		t.Errorf("changing a spec kept the digest")
	}
}

// TestDigestFollowsSourceFiles: a File's source is part of the desired
// state, so editing it is a different manifest set.
func TestDigestFollowsSourceFiles(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "motd")
	file := &v1alpha1.Resource{TypeMeta: v1alpha1.TypeMeta{Kind: "File"}, Metadata: v1alpha1.ObjectMeta{Name: "motd"},
		Spec: &v1alpha1.FileSpec{Path: "/etc/motd", Source: "motd"}, Origin: v1alpha1.Origin{File: "f.yaml", Dir: dir}}
	set := &manifest.Set{Resources: []*v1alpha1.Resource{file}}
	if err := os.WriteFile(src, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := Digest(set)
	if Digest(set) != before {
		t.Fatal("digest is not stable")
	}
	if err := os.WriteFile(src, []byte("bye\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if Digest(set) == before {
		t.Error("editing a File's source kept the digest")
	}
}

// TestLockedNamesFile: a database another process holds locked past the
// busy timeout is an error that names the file.
func TestLockedNamesFile(t *testing.T) {
	dir := t.TempDir()
	holder := open(t, dir, Options{})
	tx, err := holder.db.Begin() // immediate: takes the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	_, err = Open(context.Background(), dir, Options{BusyTimeout: 100 * time.Millisecond})
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(err.Error(), filepath.Join(dir, FileName)) || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("Open of a locked database: %v", err)
	}
}

func TestNotConvergedIncludesHostsAStoppedRolloutLeftAlone(t *testing.T) {
	r := &Run{Hosts: []Host{{Name: "c", State: StateUntouched}, {Name: "a", State: StateConverged}, {Name: "b", State: StateFailed}}}
	if got := r.NotConverged(); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("NotConverged = %v, want the failed and the untouched host", got)
	}
}
