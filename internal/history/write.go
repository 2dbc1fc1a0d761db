package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

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
