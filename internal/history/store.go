package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// FileName is the database's name inside the state directory.
const FileName = "history.db"

// Retention defaults: older or surplus runs are deleted when a run is recorded.
const (
	DefaultKeep   = 1000
	DefaultMaxAge = 90 * 24 * time.Hour
)

// defaultBusyTimeout is how long a writer waits for another process's
// write (two applies finishing at once) before the database counts as
// locked.
const defaultBusyTimeout = 5 * time.Second

// timeFormat is fixed-width so that stored times sort as text and read
// well in the sqlite3 command line.
const timeFormat = "2006-01-02T15:04:05.000000Z"

// Options tune a Store.
type Options struct {
	// Keep is the number of runs kept; 0 means DefaultKeep, <0 no limit.
	Keep int
	// MaxAge deletes runs that started longer ago; 0 means DefaultMaxAge,
	// <0 no limit.
	MaxAge time.Duration
	// BusyTimeout is how long to wait for another writer; 0 means 5s.
	BusyTimeout time.Duration
}

// Error is a problem with the database file itself: corrupt, locked, not
// writable, or written by a newer Optimus. It names the file.
type Error struct {
	Path string
	Err  error
}

func (e *Error) Error() string {
	return fmt.Sprintf("run history %s: %v", e.Path, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrNotFound is returned for a run id that is not recorded.
var ErrNotFound = errors.New("no such run")

// Store is an open run-history database. It is safe for concurrent use.
type Store struct {
	db    *sql.DB
	path  string
	opts  Options
	stmts statements
}

// statements are the writes every run makes, prepared once when the store
// opens: preparing them again for every run cost more than running them.
// Inside a transaction they are bound to it with Tx.StmtContext.
type statements struct {
	beginRun, insertRun, finishRun *sql.Stmt
	insertHost, insertAction       *sql.Stmt
	pruneKeep, pruneAge            *sql.Stmt
}

func (st *statements) prepare(ctx context.Context, db *sql.DB) error {
	for _, p := range []struct {
		stmt **sql.Stmt
		name string
		sql  string
	}{
		{&st.beginRun, "begin run", `INSERT INTO runs (command, who, started_at, manifests_digest, manifests) VALUES (?, ?, ?, ?, ?)`},
		{&st.insertRun, "insert run", `INSERT INTO runs (command, who, started_at, ended_at, manifests_digest, manifests, outcome, exit_code, cycles)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&st.finishRun, "finish run", `UPDATE runs SET ended_at = ?, outcome = ?, exit_code = ?, cycles = ? WHERE id = ?`},
		{&st.insertHost, "insert host", `INSERT OR REPLACE INTO run_hosts
			(run_id, host, state, reason, changed, failed, skipped, round_trips, connects, duration_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&st.insertAction, "insert action", `INSERT OR REPLACE INTO run_actions
			(run_id, host, seq, cycle, resource, op, description, status, error, lines)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&st.pruneKeep, "retention by count", `DELETE FROM runs WHERE id <= (SELECT id FROM runs ORDER BY id DESC LIMIT 1 OFFSET ?)`},
		{&st.pruneAge, "retention by age", `DELETE FROM runs WHERE started_at < ? AND id < (SELECT MAX(id) FROM runs)`},
	} {
		stmt, err := db.PrepareContext(ctx, p.sql)
		if err != nil {
			st.close()
			return fmt.Errorf("prepare %s: %w", p.name, err)
		}
		*p.stmt = stmt
	}
	return nil
}

func (st *statements) close() {
	for _, stmt := range []*sql.Stmt{st.beginRun, st.insertRun, st.finishRun, st.insertHost, st.insertAction, st.pruneKeep, st.pruneAge} {
		if stmt != nil {
			_ = stmt.Close()
		}
	}
}

// DefaultDir is the state directory of the tool called name:
// $XDG_STATE_HOME/name, or ~/.local/state/name.
func DefaultDir(name string) (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, name), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no state directory: %w; pass --state-dir", err)
	}
	return filepath.Join(home, ".local", "state", name), nil
}

// Open opens (creating it when missing) the database in dir. The
// directory is created 0700 and the file 0600: records name hosts and
// changes that are nobody else's business.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if opts.Keep == 0 {
		opts.Keep = DefaultKeep
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = defaultBusyTimeout
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// Create the file ourselves so that it gets 0600 whatever the umask;
	// SQLite gives its -wal and -shm files the same mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, &Error{Path: path, Err: err}
	}
	_ = f.Close()
	dsn := fmt.Sprintf("%s?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate",
		path, opts.BusyTimeout.Milliseconds())
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, &Error{Path: path, Err: err}
	}
	// One connection: SQLite has one writer anyway, and in-process callers
	// then queue instead of failing with "database is locked". Transactions
	// take the write lock when they begin (_txlock=immediate), so two
	// processes migrating a new file at once wait for each other instead of
	// both creating the tables.
	db.SetMaxOpenConns(1)
	s := &Store{db: db, path: path, opts: opts}
	if err := s.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, &Error{Path: path, Err: err}
	}
	if err := s.stmts.prepare(ctx, db); err != nil {
		_ = db.Close()
		return nil, &Error{Path: path, Err: err}
	}
	return s, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error {
	s.stmts.close()
	return s.db.Close()
}

func (s *Store) wrap(err error) error {
	if err == nil || errors.Is(err, ErrNotFound) {
		return err
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Path: s.path, Err: err}
}

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func parseTime(s sql.NullString) time.Time {
	if !s.Valid {
		return time.Time{}
	}
	t, _ := time.Parse(timeFormat, s.String)
	return t
}
