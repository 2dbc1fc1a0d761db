// Package daemon is optimus-controller: it watches a manifest directory,
// reconciles every host continuously with the same engine as optimus apply,
// corrects drift on a resync period, quarantines failing hosts with
// exponential backoff, and reports Kubernetes-style conditions over HTTP and
// in its state directory.
//
// Files by concern: daemon.go (options and the run loop), reload.go
// (loading, generations, what to queue), queue.go (per-host work queue,
// manifest changes ahead of resync work), reconcile.go (one host's
// reconcile and its record), dial.go (handshakes bounded and retried apart
// from reconciles), status.go (readiness and the debounced state file),
// server.go (HTTP), store.go (the state file's format), watch.go (fsnotify).
// The status itself lives in package controller/status.
package daemon
