// Package sysctl reconciles Sysctl resources: kernel parameters persisted in
// /etc/sysctl.d and applied with sysctl -w where /proc/sys is writable.
package sysctl
