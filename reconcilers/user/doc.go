// Package user reconciles User resources: local accounts created, changed and
// removed with useradd, usermod and userdel, password hashes set with
// chpasswd -e through stdin so they never appear on a command line.
package user
