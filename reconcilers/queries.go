package reconcilers

import (
	"fmt"
	"strconv"
	"strings"
)

// Queries shared by several kinds. Using these values (not a copy of the
// script) is what lets the engine run each once per host per cycle.
var (
	QueryPasswd = Query{Key: "getent.passwd", Script: "getent passwd"}
	QueryGroup  = Query{Key: "getent.group", Script: "getent group"}
	// QueryShadow is needed only to compare password hashes; its output never
	// leaves the process.
	QueryShadow = Query{Key: "getent.shadow", Script: "getent shadow"}
)

// QueryCapabilities reads the effective capabilities of the login shell,
// for kinds whose actions need one (mounting, setting the host name) and
// that report instead of failing where a container withholds it.
var QueryCapabilities = Query{Key: "capabilities", Script: "grep '^CapEff:' /proc/self/status"}

// capSysAdmin is CAP_SYS_ADMIN's bit (linux/capability.h).
const capSysAdmin = 21

// HasCapSysAdmin reports whether the host's shell may mount file systems
// and set the host name; the kind must have declared QueryCapabilities.
func HasCapSysAdmin(f *Facts) (bool, error) {
	return Parsed(f, QueryCapabilities.Key, func(out string) (bool, error) {
		_, hex, ok := strings.Cut(strings.TrimSpace(out), ":")
		if !ok {
			return false, fmt.Errorf("capabilities: unexpected %q", out)
		}
		caps, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			return false, fmt.Errorf("capabilities: %w", err)
		}
		return caps&(1<<capSysAdmin) != 0, nil
	})
}
