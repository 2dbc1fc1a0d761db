package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// migrations are the schema steps in order; PRAGMA user_version counts
// those applied. Append only: a released step never changes.
var migrations = []string{
	`CREATE TABLE runs (
		id               INTEGER PRIMARY KEY AUTOINCREMENT,
		command          TEXT NOT NULL,
		who              TEXT NOT NULL,
		started_at       TEXT NOT NULL,
		ended_at         TEXT,
		manifests_digest TEXT NOT NULL,
		manifests        TEXT NOT NULL DEFAULT '[]',
		outcome          TEXT NOT NULL DEFAULT 'incomplete',
		exit_code        INTEGER,
		cycles           INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX runs_by_digest ON runs(command, manifests_digest, id);
	CREATE INDEX runs_by_start ON runs(started_at);
	CREATE TABLE run_hosts (
		run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
		host        TEXT NOT NULL,
		state       TEXT NOT NULL,
		reason      TEXT NOT NULL DEFAULT '',
		changed     INTEGER NOT NULL DEFAULT 0,
		failed      INTEGER NOT NULL DEFAULT 0,
		skipped     INTEGER NOT NULL DEFAULT 0,
		round_trips INTEGER NOT NULL DEFAULT 0,
		connects    INTEGER NOT NULL DEFAULT 0,
		duration_ms INTEGER,
		PRIMARY KEY (run_id, host)
	);
	CREATE INDEX run_hosts_by_host ON run_hosts(host, run_id);
	CREATE TABLE run_actions (
		run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
		host        TEXT NOT NULL,
		seq         INTEGER NOT NULL,
		cycle       INTEGER NOT NULL,
		resource    TEXT NOT NULL,
		op          TEXT NOT NULL DEFAULT '',
		description TEXT NOT NULL DEFAULT '',
		status      TEXT NOT NULL,
		error       TEXT NOT NULL DEFAULT '',
		lines       TEXT NOT NULL DEFAULT '',
		PRIMARY KEY (run_id, host, seq)
	);`,
}

func (s *Store) migrate(ctx context.Context) error {
	for {
		done, err := s.migrateStep(ctx)
		if err != nil || done {
			return err
		}
	}
}

// migrateStep applies the next schema step, if any, reading the version
// inside the transaction so that concurrent processes agree on it.
func (s *Store) migrateStep(ctx context.Context) (done bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil || done {
			_ = tx.Rollback()
		}
	}()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return false, err
	}
	if version > len(migrations) {
		return false, fmt.Errorf("schema version %d is newer than this Optimus knows (%d); use a newer Optimus", version, len(migrations))
	}
	if version == len(migrations) {
		return true, nil
	}
	if _, err := tx.ExecContext(ctx, migrations[version]); err != nil {
		return false, fmt.Errorf("schema step %d: %w", version+1, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version+1)); err != nil {
		return false, err
	}
	return false, tx.Commit()
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

// Begin records that a run started, before it touches any host, so that a
// run killed midway still shows as incomplete. It sets r.ID.
func (s *Store) Begin(ctx context.Context, r *Run) error {
	if r.Start.IsZero() {
		r.Start = time.Now()
	}
	manifests, _ := json.Marshal(nonNil(r.Manifests))
	res, err := s.stmts.beginRun.ExecContext(ctx, r.Command, r.Who, formatTime(r.Start), r.Digest, string(manifests))
	if err != nil {
		return s.wrap(err)
	}
	r.ID, err = res.LastInsertId()
	return s.wrap(err)
}

// Finish records the end of a run begun with Begin (or the whole run, when
// it has no ID yet) in one transaction, then deletes what retention says.
func (s *Store) Finish(ctx context.Context, r *Run) error {
	if r.ID == 0 {
		return s.Record(ctx, r)
	}
	if r.End.IsZero() {
		r.End = time.Now()
	}
	return s.wrap(s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.StmtContext(ctx, s.stmts.finishRun).ExecContext(ctx,
			formatTime(r.End), r.Outcome, r.ExitCode, r.Cycles, r.ID); err != nil {
			return err
		}
		if err := newHostWriter(ctx, tx, &s.stmts).write(r); err != nil {
			return err
		}
		return s.prune(ctx, tx, r.End)
	}))
}

// Record writes whole runs, none of them begun, in one transaction and in
// order, so that their IDs follow the order given; then it applies
// retention once. It sets each run's ID, or none when it fails. A run
// without an end is taken as ending now.
func (s *Store) Record(ctx context.Context, runs ...*Run) error {
	if len(runs) == 0 {
		return nil
	}
	now := time.Now()
	var latest time.Time
	for _, r := range runs {
		if r.ID != 0 {
			return fmt.Errorf("record run %d: it was begun; finish it instead", r.ID)
		}
		if r.Start.IsZero() {
			r.Start = now
		}
		if r.End.IsZero() {
			r.End = now
		}
		if r.End.After(latest) {
			latest = r.End
		}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		insertRun := tx.StmtContext(ctx, s.stmts.insertRun)
		hosts := newHostWriter(ctx, tx, &s.stmts)
		for _, r := range runs {
			manifests, _ := json.Marshal(nonNil(r.Manifests))
			res, err := insertRun.ExecContext(ctx, r.Command, r.Who, formatTime(r.Start), formatTime(r.End), r.Digest,
				string(manifests), r.Outcome, r.ExitCode, r.Cycles)
			if err != nil {
				return err
			}
			if r.ID, err = res.LastInsertId(); err != nil {
				return err
			}
			if err := hosts.write(r); err != nil {
				return err
			}
		}
		return s.prune(ctx, tx, latest)
	})
	if err != nil {
		for _, r := range runs {
			r.ID = 0
		}
	}
	return s.wrap(err)
}

// hostWriter writes the hosts and actions of runs with statements bound to
// one transaction.
type hostWriter struct {
	ctx          context.Context
	host, action *sql.Stmt
}

func newHostWriter(ctx context.Context, tx *sql.Tx, st *statements) *hostWriter {
	return &hostWriter{ctx: ctx, host: tx.StmtContext(ctx, st.insertHost), action: tx.StmtContext(ctx, st.insertAction)}
}

func (w *hostWriter) write(r *Run) error {
	for _, h := range r.Hosts {
		var dur sql.NullInt64
		if h.Duration > 0 {
			dur = sql.NullInt64{Int64: h.Duration.Milliseconds(), Valid: true}
		}
		if _, err := w.host.ExecContext(w.ctx,
			r.ID, h.Name, h.State, h.Reason, h.Changed, h.Failed, h.Skipped, h.RoundTrips, h.Connects, dur); err != nil {
			return err
		}
		for i, a := range h.Actions {
			if _, err := w.action.ExecContext(w.ctx,
				r.ID, h.Name, i, a.Cycle, a.Resource, a.Op, a.Description, a.Status, a.Error, strings.Join(a.Lines, "\n")); err != nil {
				return err
			}
		}
	}
	return nil
}

// prune applies retention; the run just recorded is always kept.
func (s *Store) prune(ctx context.Context, tx *sql.Tx, now time.Time) error {
	if s.opts.Keep > 0 {
		if _, err := tx.StmtContext(ctx, s.stmts.pruneKeep).ExecContext(ctx, s.opts.Keep); err != nil {
			return fmt.Errorf("retention: %w", err)
		}
	}
	if s.opts.MaxAge > 0 {
		if _, err := tx.StmtContext(ctx, s.stmts.pruneAge).ExecContext(ctx, formatTime(now.Add(-s.opts.MaxAge))); err != nil {
			return fmt.Errorf("retention: %w", err)
		}
	}
	return nil
}

func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Filter selects runs to list.
type Filter struct {
	// Host keeps runs that worked on this host.
	Host string
	// Failed keeps runs where a host failed, was unreachable or did not
	// converge (that host, when Host is set).
	Failed bool
	// Limit bounds the number of runs, newest first; 0 means 50.
	Limit int
}

const runColumns = `id, command, who, started_at, ended_at, manifests_digest, manifests, outcome, exit_code, cycles`

// List returns runs, newest first, with their hosts but without actions.
func (s *Store) List(ctx context.Context, f Filter) ([]*Run, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	var where []string
	var args []any
	if f.Host != "" || f.Failed {
		cond := []string{"h.run_id = runs.id"}
		if f.Host != "" {
			cond = append(cond, "h.host = ?")
			args = append(args, f.Host)
		}
		if f.Failed {
			cond = append(cond, "h.state IN ('failed', 'unconverged', 'untouched', 'interrupted')")
		}
		where = append(where, "EXISTS (SELECT 1 FROM run_hosts h WHERE "+strings.Join(cond, " AND ")+")")
	}
	q := "SELECT " + runColumns + " FROM runs"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, f.Limit)
	runs, err := s.queryRuns(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(err)
	}
	for _, r := range runs {
		if err := s.loadHosts(ctx, r, false); err != nil {
			return nil, s.wrap(err)
		}
	}
	return runs, nil
}

// Get returns one run with its hosts and actions.
func (s *Store) Get(ctx context.Context, id int64) (*Run, error) {
	runs, err := s.queryRuns(ctx, "SELECT "+runColumns+" FROM runs WHERE id = ?", id)
	if err != nil {
		return nil, s.wrap(err)
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("run %d: %w", id, ErrNotFound)
	}
	if err := s.loadHosts(ctx, runs[0], true); err != nil {
		return nil, s.wrap(err)
	}
	return runs[0], nil
}

// LastID is the newest run's id.
func (s *Store) LastID(ctx context.Context) (int64, error) {
	var id sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT MAX(id) FROM runs").Scan(&id); err != nil {
		return 0, s.wrap(err)
	}
	if !id.Valid {
		return 0, fmt.Errorf("the history is empty: %w", ErrNotFound)
	}
	return id.Int64, nil
}

// LastFinished returns the newest finished run of command over the
// manifest set with digest, with its hosts; nil when there is none. A run
// that stopped on an error before working on any host does not count.
func (s *Store) LastFinished(ctx context.Context, command, digest string) (*Run, error) {
	runs, err := s.queryRuns(ctx, "SELECT "+runColumns+` FROM runs
		WHERE command = ? AND manifests_digest = ? AND ended_at IS NOT NULL AND outcome != ? ORDER BY id DESC LIMIT 1`, command, digest, OutcomeError)
	if err != nil || len(runs) == 0 {
		return nil, s.wrap(err)
	}
	if err := s.loadHosts(ctx, runs[0], false); err != nil {
		return nil, s.wrap(err)
	}
	return runs[0], nil
}

func (s *Store) queryRuns(ctx context.Context, q string, args ...any) ([]*Run, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Run
	for rows.Next() {
		var (
			r          Run
			start, end sql.NullString
			manifests  string
			exit       sql.NullInt64
		)
		if err := rows.Scan(&r.ID, &r.Command, &r.Who, &start, &end, &r.Digest, &manifests, &r.Outcome, &exit, &r.Cycles); err != nil {
			return nil, err
		}
		r.Start, r.End, r.ExitCode = parseTime(start), parseTime(end), int(exit.Int64)
		_ = json.Unmarshal([]byte(manifests), &r.Manifests)
		out = append(out, &r)
	}
	return out, rows.Err()
}

func (s *Store) loadHosts(ctx context.Context, r *Run, actions bool) error {
	rows, err := s.db.QueryContext(ctx, `SELECT host, state, reason, changed, failed, skipped, round_trips, connects, duration_ms
		FROM run_hosts WHERE run_id = ? ORDER BY host`, r.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var h Host
		var dur sql.NullInt64
		if err := rows.Scan(&h.Name, &h.State, &h.Reason, &h.Changed, &h.Failed, &h.Skipped, &h.RoundTrips, &h.Connects, &dur); err != nil {
			return err
		}
		h.Duration = time.Duration(dur.Int64) * time.Millisecond
		r.Hosts = append(r.Hosts, h)
	}
	if err := rows.Err(); err != nil || !actions {
		return err
	}
	rows, err = s.db.QueryContext(ctx, `SELECT host, cycle, resource, op, description, status, error, lines
		FROM run_actions WHERE run_id = ? ORDER BY host, seq`, r.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var host, lines string
		var a Action
		if err := rows.Scan(&host, &a.Cycle, &a.Resource, &a.Op, &a.Description, &a.Status, &a.Error, &lines); err != nil {
			return err
		}
		if lines != "" {
			a.Lines = strings.Split(lines, "\n")
		}
		if h := r.Host(host); h != nil {
			h.Actions = append(h.Actions, a)
		}
	}
	return rows.Err()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
