// Package testhost starts real test hosts for Optimus: Docker containers
// running sshd, built from a Debian rootfs without any container registry.
//
// The image is made once with mmdebstrap and docker import and tagged with a
// hash of its recipe, so an unchanged recipe is reused and a changed one is
// rebuilt. Each container generates its own SSH host keys at first start and
// publishes sshd on 127.0.0.1 only. Containers run without Docker's seccomp
// filter and with a tmpfs /tmp, so that forks and temporary files cost what
// they cost on a real machine (the filter alone makes each fork ~3x slower).
//
// Tests call Start, or share a Pool per package; hack/testhosts uses Create
// for the fixed seed hosts of the README.
package testhost
