// Package exec reconciles Exec resources: a command run when its guards
// (creates, unless, onlyIf) say it is needed, or only on refresh when a
// resource named in restartOn changes. The guards run in the observe phase;
// they are trusted to be read-only.
package exec
