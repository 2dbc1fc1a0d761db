package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/optimus-cm/optimus/internal/cluster"
)

// rolloutStore keeps the fleet's rollout state where the controller keeps
// shared state: the state directory for one controller (or memory without
// one), etcd for replicas. Every change is a compare-and-swap on the
// record's revision, so that replicas move a rollout on one at a time and
// a change made from stale state is refused and redone.
type rolloutStore interface {
	// load returns the record (nil before the first), the outcomes and the
	// record's revision.
	load(ctx context.Context) (*fleetRecord, map[string]outcomeRecord, int64, error)
	// swap stores rec if the record is still at rev; false when it moved.
	swap(ctx context.Context, rev int64, rec *fleetRecord) (bool, error)
	// putOutcome records a member's outcome; with replicas, only while
	// hold still owns the host.
	putOutcome(ctx context.Context, hold *cluster.Hold, host string, o outcomeRecord) error
	putSnapshot(ctx context.Context, digest string, data []byte) error
	snapshot(ctx context.Context, digest string) ([]byte, error)
	// keepSnapshots removes every snapshot but those named.
	keepSnapshots(ctx context.Context, keep map[string]bool) error
	// durable says whether the state survives the process.
	durable() bool
}

// RolloutFile is the rollout state's file in the state directory,
// OutcomeLog the outcomes recorded since it was last written, and
// SnapshotDir the directory of the manifests snapshots hosts are held to.
const (
	RolloutFile = "rollout.json"
	OutcomeLog  = "rollout-outcomes.log"
	SnapshotDir = "snapshots"
)

// localStore is the store of a controller running alone: in memory, and
// written through to the state directory when there is one.
type localStore struct {
	dir string // "" keeps nothing on disk

	mu       sync.Mutex
	rev      int64
	rec      *fleetRecord
	outcomes map[string]outcomeRecord
	logged   int               // lines in the outcome log
	snaps    map[string][]byte // without a directory
}

// loggedOutcome is one line of the outcome log.
type loggedOutcome struct {
	Host    string        `json:"host"`
	Outcome outcomeRecord `json:"outcome"`
}

type localFile struct {
	Rev      int64                    `json:"rev"`
	Record   *fleetRecord             `json:"record"`
	Outcomes map[string]outcomeRecord `json:"outcomes,omitempty"`
}

func newLocalStore(dir string) (*localStore, error) {
	s := &localStore{dir: dir, outcomes: map[string]outcomeRecord{}, snaps: map[string][]byte{}}
	if dir == "" {
		return s, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, RolloutFile))
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	var f localFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, RolloutFile), err)
	}
	s.rev, s.rec = f.Rev, f.Record
	if f.Outcomes != nil {
		s.outcomes = f.Outcomes
	}
	return s, s.replayLog()
}

// replayLog applies the outcomes logged after the state file was written.
// A line cut short by a crash is the last one, and is left out: its
// outcome was never acknowledged to the reconcile that recorded it.
func (s *localStore) replayLog() error {
	b, err := os.ReadFile(filepath.Join(s.dir, OutcomeLog))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		var l loggedOutcome
		if line == "" || json.Unmarshal([]byte(line), &l) != nil || l.Host == "" {
			continue
		}
		s.outcomes[l.Host] = l.Outcome
		s.logged++
	}
	return nil
}

func (s *localStore) durable() bool { return s.dir != "" }

func (s *localStore) load(context.Context) (*fleetRecord, map[string]outcomeRecord, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]outcomeRecord, len(s.outcomes))
	for k, v := range s.outcomes {
		out[k] = v
	}
	return cloneRecord(s.rec), out, s.rev, nil
}

func (s *localStore) swap(_ context.Context, rev int64, rec *fleetRecord) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev != s.rev {
		return false, nil
	}
	old := s.rec
	s.rec, s.rev = cloneRecord(rec), s.rev+1
	if err := s.writeLocked(); err != nil {
		s.rec, s.rev = old, s.rev-1
		return false, err
	}
	return true, nil
}

func (s *localStore) putOutcome(_ context.Context, _ *cluster.Hold, host string, o outcomeRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev, had := s.outcomes[host]
	s.outcomes[host] = o
	if s.dir == "" {
		return nil
	}
	// An outcome is one line appended, not the whole state written again:
	// a rollout of n hosts writes O(n) bytes, not O(n²). The log is folded
	// into the state file once it holds more lines than there are hosts.
	var err error
	if s.logged >= len(s.outcomes)+64 {
		err = s.writeLocked()
	} else {
		err = s.appendLocked(loggedOutcome{Host: host, Outcome: o})
	}
	if err != nil { // not recorded: the reconcile is tried again
		if had {
			s.outcomes[host] = prev
		} else {
			delete(s.outcomes, host)
		}
	}
	return err
}

func (s *localStore) appendLocked(l loggedOutcome) error {
	f, err := os.OpenFile(filepath.Join(s.dir, OutcomeLog), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(l)
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		s.logged++
	}
	return err
}

// writeLocked writes the state atomically, outcomes included, and then
// empties the outcome log: a restart after a crash finds the old state or
// the new one (with the log's outcomes, once more, on top).
func (s *localStore) writeLocked() error {
	if s.dir == "" {
		return nil
	}
	b, err := json.Marshal(localFile{Rev: s.rev, Record: s.rec, Outcomes: s.outcomes})
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.dir, RolloutFile, b); err != nil {
		return err
	}
	if err := os.Truncate(filepath.Join(s.dir, OutcomeLog), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	s.logged = 0
	return nil
}

func (s *localStore) putSnapshot(_ context.Context, digest string, data []byte) error {
	if s.dir == "" {
		s.mu.Lock()
		s.snaps[digest] = data
		s.mu.Unlock()
		return nil
	}
	dir := filepath.Join(s.dir, SnapshotDir)
	if _, err := os.Stat(filepath.Join(dir, digest+".tar.gz")); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return writeFileAtomic(dir, digest+".tar.gz", data)
}

func (s *localStore) snapshot(_ context.Context, digest string) ([]byte, error) {
	if s.dir == "" {
		s.mu.Lock()
		defer s.mu.Unlock()
		if b, ok := s.snaps[digest]; ok {
			return b, nil
		}
		return nil, fmt.Errorf("no snapshot of manifests %s", digest)
	}
	return os.ReadFile(filepath.Join(s.dir, SnapshotDir, digest+".tar.gz"))
}

func (s *localStore) keepSnapshots(_ context.Context, keep map[string]bool) error {
	if s.dir == "" {
		s.mu.Lock()
		defer s.mu.Unlock()
		for d := range s.snaps {
			if !keep[d] {
				delete(s.snaps, d)
			}
		}
		return nil
	}
	dir := filepath.Join(s.dir, SnapshotDir)
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if d, ok := strings.CutSuffix(name, ".tar.gz"); ok && !keep[d] {
			_ = os.Remove(filepath.Join(dir, name))
		}
	}
	return nil
}

// cloneRecord copies a record through JSON: records are small, and a
// stored record must not share maps with the daemon's view.
func cloneRecord(r *fleetRecord) *fleetRecord {
	if r == nil {
		return nil
	}
	b, _ := json.Marshal(r)
	var c fleetRecord
	_ = json.Unmarshal(b, &c)
	return &c
}

// writeFileAtomic writes dir/name, owner-only, through a synced temporary
// file and a rename: a reader, or a restart after a crash, sees the old
// file or the new one, never half of one.
func writeFileAtomic(dir, name string, b []byte) error {
	return writeAtomic(dir, name, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// writeAtomic is writeFileAtomic for content written by write, in pieces.
func writeAtomic(dir, name string, write func(w io.Writer) error) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+name+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, name))
}
