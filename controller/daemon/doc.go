// Package daemon is optimus-controller: it watches a manifest directory,
// reconciles every host continuously with the same engine as optimus apply,
// corrects drift on a resync period, quarantines failing hosts with
// exponential backoff, and reports Kubernetes-style conditions over HTTP and
// in its state directory.
package daemon
