package history

import (
	"context"
	"fmt"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

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
