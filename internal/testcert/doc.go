// Package testcert makes throwaway certificate authorities and
// certificates for tests of Optimus's TLS settings: the controller's HTTPS
// server, the CLI's --controller-ca-file and the etcd client.
package testcert
