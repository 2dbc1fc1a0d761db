// Package service reconciles Service resources: system services started or
// stopped and enabled at boot or not, with systemd where it runs the host and
// with init scripts (service, update-rc.d) elsewhere, and restarted when a
// resource named in restartOn changes.
package service
