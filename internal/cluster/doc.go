// Package cluster lets several optimus-controller replicas share one fleet
// through etcd: lease-backed membership, assignment of hosts by consistent
// hashing with bounded loads, per-host ownership held under the replica's
// lease with every act fenced by the ownership's revision, agreement on one
// manifest generation, and fleet status written in batches.
package cluster
