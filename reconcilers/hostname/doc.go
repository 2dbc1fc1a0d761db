// Package hostname reconciles the Hostname resource: /etc/hostname, written
// in place where it is a bind mount (as in containers), and the running
// kernel's name where the host allows setting it.
package hostname
