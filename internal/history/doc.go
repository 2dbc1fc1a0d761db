// Package history keeps a record of every run (apply, diff, controller
// reconcile) in an embedded SQLite database, so that operators can see what
// happened, and apply can retry only the hosts that failed last time.
//
// The database is an ordinary SQLite file (pure-Go driver, no cgo), readable
// with the sqlite3 command line: tables runs, run_hosts and run_actions.
// Only text already shown on screen is stored, so secrets never reach it.
package history
