package fleetsim

import (
	"path"
	"strings"
)

// StateDir is where, in a container, each simulated host keeps its own
// files: StateDir/NAME/tmp is its /tmp, StateDir/NAME/upper/etc what it
// changed in /etc, and so on. It is a tmpfs.
const StateDir = "/fleet/hosts"

// Overlaid are the directories a simulated host changes as its own: an
// overlay over the container's, whose upper layer is the host's. /bin, /sbin
// and /lib are links into /usr in the image, so they are the host's too.
// /tmp is a directory of its own (bound, not overlaid). Anything else, such
// as /mnt, is the container's, shared by its simulated hosts.
var Overlaid = []string{"/etc", "/home", "/opt", "/root", "/srv", "/usr", "/var"}

// ContainerPath is where, inside its container, the simulated host name
// keeps the file it sees at p: for /tmp always, for the overlaid
// directories once the host has written the file. Tests and benchmarks
// watch a host's file there without a session of their own.
func ContainerPath(name, p string) string {
	p = path.Clean(p)
	if p == "/tmp" || strings.HasPrefix(p, "/tmp/") {
		return path.Join(StateDir, name, p)
	}
	for _, d := range Overlaid {
		if p == d || strings.HasPrefix(p, d+"/") {
			return path.Join(StateDir, name, "upper", p)
		}
	}
	return p
}
