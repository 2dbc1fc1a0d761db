package pkg

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/optimus-cm/optimus/reconcilers"
)

// aptStamp is touched after every refresh Optimus makes, as Debian's own
// periodic refresh does: apt keeps the server's dates on the lists it
// downloads, so their mtimes do not say when they were fetched.
const aptStamp = "/var/lib/apt/periodic/update-success-stamp"

// listsStampScript prints the time (Unix seconds) the package lists of mgr
// were last refreshed, or nothing when they never were. Read-only.
func listsStampScript(mgr string) string {
	switch mgr {
	case "apt":
		return "stat -c %Y " + aptStamp + " /var/lib/apt/lists/*_Packages* 2>/dev/null | sort -n | tail -n 1"
	case "dnf":
		return "stat -c %Y /var/cache/dnf/last_makecache /var/cache/dnf/*.solv 2>/dev/null | sort -n | tail -n 1"
	case "apk":
		return "stat -c %Y /var/cache/apk/APKINDEX.* /etc/apk/cache/APKINDEX.* 2>/dev/null | sort -n | tail -n 1"
	}
	return "true"
}

// listsQueryScript prints "@lists" then "MANAGER EPOCH" per manager found
// and "now EPOCH" (the host's clock), so that the lists' age is measured on
// the host.
func listsQueryScript() string {
	var b strings.Builder
	b.WriteString("echo @lists; echo \"now $(date +%s)\"\n")
	for _, m := range Managers {
		bin := m
		if m == "apt" {
			bin = "apt-get"
		}
		fmt.Fprintf(&b, "if command -v %s >/dev/null 2>&1; then echo \"%s $(%s)\"; fi\n", bin, m, listsStampScript(m))
	}
	return b.String()
}

// parseLists reads a line of the @lists section into st.
func (st *State) parseLists(line string) {
	name, v, ok := strings.Cut(line, " ")
	if !ok {
		return
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return // no lists at all: never refreshed
	}
	if name == "now" {
		st.Now = n
		return
	}
	st.ListsRefreshed[name] = n
}

// refreshReason says why the lists of mgr must be refreshed before
// installing toInstall, or "" when they need not be. unknown are the
// packages of toInstall the lists do not know.
func (st State) refreshReason(mgr string, maxAge time.Duration, unknown []string) string {
	stamp := st.ListsRefreshed[mgr]
	switch {
	case len(unknown) > 0:
		return "unknown to the package lists: " + strings.Join(unknown, ", ")
	case stamp == 0:
		return "never refreshed"
	case st.Now-stamp > int64(maxAge/time.Second):
		return fmt.Sprintf("last refreshed %s ago, cacheValidTime is %s", time.Duration(st.Now-stamp)*time.Second, maxAge)
	}
	return ""
}

// refreshCommand refreshes the lists of mgr, unless something did since
// they were observed at stamp: several commands of one act batch (an
// install and an upgrade) then refresh once. The refresh says nothing when
// it succeeds, so that the error of the command after it is what its action
// reports; when it fails, its output is the action's error.
func refreshCommand(mgr string, stamp int64) string {
	var refresh, done string
	switch mgr {
	case "apt":
		// Error-Mode=any: an unreachable repository fails the refresh
		// instead of leaving the old lists with a warning.
		refresh = reconcilers.ShellCommand("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "update", "-q", "-o", "APT::Update::Error-Mode=any")
		done = "mkdir -p " + reconcilers.ShellCommand(strings.TrimSuffix(aptStamp, "/update-success-stamp")) + " && touch " + aptStamp + " || exit; "
	case "dnf":
		refresh = "dnf -q -y makecache"
	case "apk":
		refresh = "apk update -q"
	default:
		return "true"
	}
	return fmt.Sprintf(`_ol=$(%s); if [ "${_ol:-0}" -le %d ]; then _ou=$(%s 2>&1) || { _rc=$?; printf '%%s\n' "$_ou" >&2; exit $_rc; }; %sfi`,
		listsStampScript(mgr), stamp, refresh, done)
}

// refreshKey marks the Combine key of actions that refresh first:
// "apt install" becomes "apt install refresh=STAMP".
const refreshKey = " refresh="

func withRefresh(key string, refresh bool, stamp int64) string {
	if !refresh {
		return key
	}
	return key + refreshKey + strconv.FormatInt(stamp, 10)
}

// splitRefresh undoes withRefresh.
func splitRefresh(key string) (base string, refresh bool, stamp int64) {
	base, s, ok := strings.Cut(key, refreshKey)
	if !ok {
		return key, false, 0
	}
	stamp, _ = strconv.ParseInt(s, 10, 64)
	return base, true, stamp
}
