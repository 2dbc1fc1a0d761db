// Package etcdtest starts real etcd servers (Debian's etcd-server binary) on
// 127.0.0.1 for tests: one member or a three-member cluster, each on free
// ports with a temporary data directory, stopped when the test ends.
package etcdtest
