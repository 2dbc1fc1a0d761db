package testhost

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// SnapshotScript prints one line per path of the whole filesystem outside
// /proc, /sys, /dev and /run (which an SSH login itself writes, as it does
// the login records /var/log/wtmp, /var/log/lastlog and /var/log/btmp):
// path, type, mode, owner, group, size and mtime (but a directory's mtime:
// its entries are listed, and tests' docker exec moves the mtime of /), and
// for regular files under /tmp, /var and /etc their sha256. It is read-only.
// Observe must leave every line of it unchanged.
const SnapshotScript = `LC_ALL=C; export LC_ALL
find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /var/log/wtmp -o -path /var/log/lastlog -o -path /var/log/btmp \) -prune -o -type d -printf '%p\t%y %m %u %g\n' -o -printf '%p\t%y %m %u %g %s %T@\n' 2>/dev/null | sort
find /tmp /var /etc -xdev \( -path /var/log/wtmp -o -path /var/log/lastlog -o -path /var/log/btmp \) -prune -o -type f -exec sha256sum -- {} + 2>/dev/null | sort -k2
`

// RootOwnedScript prints path, type, mode, owner and group of every path
// owned by root outside /proc, /sys, /dev and /run (which logging in over
// SSH writes), and the sha256 of every regular file owned by root where
// configuration and data live (/etc, /root, /home, /srv, /opt, /usr/local,
// /var but its logs, /tmp): the packaged programs under /usr are left out
// to keep it fast. /var/lib/optimus is left out too: it is Optimus's own
// inventory, which every apply rewrites (in a root-only directory that the
// write checks).
const RootOwnedScript = `LC_ALL=C; export LC_ALL
find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /var/lib/optimus \) -prune -o -user root -printf '%p\t%y %m %u %g\n' 2>/dev/null | sort
find /etc /root /home /srv /opt /usr/local /var /tmp -xdev \( -path /var/log -o -path /var/lib/optimus \) -prune -o -user root -type f -exec sha256sum -- {} + 2>/dev/null | sort -k2
`

// Snapshot is what a snapshot script printed, one entry per line.
type Snapshot map[string]int

// TakeSnapshot runs script (SnapshotScript or RootOwnedScript) inside the
// container, from outside: nothing Optimus does is involved.
func (h *Host) TakeSnapshot(t testing.TB, script string) Snapshot {
	t.Helper()
	s := Snapshot{}
	for _, l := range strings.Split(h.Exec(t, script), "\n") {
		if l != "" {
			s[l]++
		}
	}
	if len(s) < 100 {
		t.Fatalf("snapshot of %s has %d lines: the script failed", h.Name, len(s))
	}
	return s
}

// Diff lists the lines only in s (-) or only in other (+), sorted; empty
// when both are the same.
func (s Snapshot) Diff(other Snapshot) []string {
	var d []string
	for l, n := range s {
		if other[l] != n {
			d = append(d, fmt.Sprintf("- %s", l))
		}
	}
	for l, n := range other {
		if s[l] != n {
			d = append(d, fmt.Sprintf("+ %s", l))
		}
	}
	sort.Slice(d, func(i, j int) bool { return d[i][2:] < d[j][2:] })
	return d
}

// ExecAs runs script with sh inside the host's container as user (docker
// exec -u), as an ordinary user of the host would.
func (h *Host) ExecAs(t testing.TB, user, script string) string {
	t.Helper()
	out, err := docker(t.Context(), nil, "exec", "-u", user, h.Container, "sh", "-c", script)
	if err != nil {
		t.Fatalf("exec as %s in %s: %v", user, h.Container, err)
	}
	return out
}

// ExecStdin runs script with sh inside container with stdin as its standard
// input (docker exec -i) and returns its stdout; a failure fails the test.
func ExecStdin(t testing.TB, container, stdin, script string) string {
	t.Helper()
	out, err := docker(t.Context(), []byte(stdin), "exec", "-i", container, "sh", "-c", script)
	if err != nil {
		t.Fatalf("exec in %s: %v", container, err)
	}
	return out
}
