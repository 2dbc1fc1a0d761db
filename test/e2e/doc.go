// Package e2e holds end-to-end tests of the optimus command against real
// hosts: containers running sshd, started by package test/testhost.
package e2e
