// Package fleetsim serves thousands of simulated hosts from a few
// containers, so that Optimus can be measured at a scale real sshd
// containers cannot carry.
//
// Each container runs simd, a small SSH server built from this module, as
// its only process, on the machine's network, listening on 127.0.0.1 with
// one port per simulated host. A simulated host is real SSH (its own host
// key, checked through a known_hosts file; public-key login as root) whose
// session runs the container's real /bin/sh and tools in a mount namespace
// of its own: /etc, /home, /root, /opt, /srv, /usr and /var are overlays
// whose changes belong to that host alone, and /tmp is a directory of its
// own. A file written on h0042 is therefore not seen on h0043, and users,
// groups, packages and Optimus' inventory are per host too.
//
// Start brings a fleet up, Fleet.Resource gives each simulated host's Host
// resource, and Down removes it. hack/fleetsim is the command line and
// hack/bench -fleetsim measures the controller on it; docs/fleetsim.md has
// the design and the figures.
package fleetsim
