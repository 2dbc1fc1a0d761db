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
