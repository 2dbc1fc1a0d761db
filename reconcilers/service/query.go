package service

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// KeyPrefix starts the Key of the query; it ends with a hash of the script.
const KeyPrefix = "services."

// Init systems.
const (
	Systemd = "systemd"
	SysV    = "sysv"
)

// Queries detects the init system and reads the state of every service of the
// host in one command. Status commands only read.
func (Reconciler) Queries(_ *v1alpha1.Host, objs []reconcilers.Object[v1alpha1.ServiceSpec]) []reconcilers.Query {
	set := map[string]bool{}
	for _, o := range objs {
		set[o.Spec.Name] = true
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	script := QueryScript(names)
	sum := sha256.Sum256([]byte(script))
	return []reconcilers.Query{{Key: KeyPrefix + hex.EncodeToString(sum[:8]), Script: script}}
}

// sysvReloads matches the case pattern of an init script's reload action
// ("reload)", "reload|force-reload)", "force-reload|reload)") and not
// force-reload alone, which Debian's scripts often map to a restart.
const sysvReloads = `^[[:space:]]*([A-Za-z-]+[|])*reload([|][A-Za-z-]+)*[)]`

// bootRunlevel sets l to the runlevel a sysvinit host boots into:
// inittab's initdefault, Debian's 2 without one.
const bootRunlevel = `l=$(sed -n 's/^[^#:]*:\([0-6]\):initdefault:.*/\1/p' /etc/inittab 2>/dev/null | head -n 1); [ -n "$l" ] || l=2`

// QueryScript prints the init system on the first line, then per service
// "name<TAB>active<TAB>enabled<TAB>exists<TAB>reload<TAB>unit file state"
// with yes or no; the unit file state is systemd's (is-enabled), "-" for
// init scripts. Under sysvinit a service is enabled when it has a start link
// in the runlevel the host boots into (inittab's initdefault, Debian's 2
// without one) or in rcS.d, which every boot runs.
func QueryScript(names []string) string {
	return `if [ -d /run/systemd/system ]; then
	echo ` + Systemd + `
	for s in ` + reconcilers.ShellCommand(names...) + `; do
		a=no; x=yes; r=no
		systemctl is-active --quiet "$s" 2>/dev/null && a=yes
		u=$(systemctl is-enabled "$s" 2>/dev/null | head -n 1); [ -n "$u" ] || u=unknown
		[ "$(systemctl show -p LoadState --value "$s" 2>/dev/null)" = not-found ] && x=no
		[ "$(systemctl show -p CanReload --value "$s" 2>/dev/null)" = yes ] && r=yes
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$s" $a - $x $r "$u"
	done
else
	echo ` + SysV + `
	` + bootRunlevel + `
	for s in ` + reconcilers.ShellCommand(names...) + `; do
		a=no; e=no; x=no; r=no
		if [ -x "/etc/init.d/$s" ]; then
			x=yes
			"/etc/init.d/$s" status >/dev/null 2>&1 </dev/null && a=yes
			grep -Eq '` + sysvReloads + `' "/etc/init.d/$s" 2>/dev/null && r=yes
		fi
		for k in /etc/rc$l.d/S[0-9][0-9]"$s" /etc/rcS.d/S[0-9][0-9]"$s"; do [ -e "$k" ] && e=yes; done
		printf '%s\t%s\t%s\t%s\t%s\t-\n' "$s" $a $e $x $r
	done
fi
exit 0
`
}

// Status is one service as observed.
type Status struct {
	Active, Enabled, Exists bool
	// CanReload: the service reloads its configuration without a restart.
	CanReload bool
	// UnitFileState is systemd's is-enabled word; empty under sysvinit.
	UnitFileState string
}

// ParseStatus parses the output of QueryScript.
func ParseStatus(out string) (initSystem string, services map[string]Status) {
	services = map[string]Status{}
	lines := strings.Split(out, "\n")
	initSystem = strings.TrimSpace(lines[0])
	for _, l := range lines[1:] {
		f := strings.Split(l, "\t")
		if len(f) != 6 {
			continue
		}
		st := Status{Active: f[1] == "yes", Enabled: f[2] == "yes", Exists: f[3] == "yes", CanReload: f[4] == "yes"}
		if initSystem == Systemd {
			st.UnitFileState = f[5]
			st.Enabled = enabledAtBoot(f[5])
		}
		services[f[0]] = st
	}
	return initSystem, services
}

// enabledAtBoot reads systemd's unit file state the way enabled means it:
// started at boot by its own install information. enabled-runtime lasts only
// until the next boot; static, indirect, generated and transient units have
// no install information of their own to enable (see fixedUnitFile).
func enabledAtBoot(unitFileState string) bool {
	switch unitFileState {
	case "enabled", "alias":
		return true
	}
	return false
}

// fixedUnitFile reports the systemd unit file states that systemctl enable
// cannot change.
func fixedUnitFile(unitFileState string) bool {
	switch unitFileState {
	case "static", "indirect", "generated", "transient":
		return true
	}
	return false
}

// observedServices is a parsed query, shared by every Service of a host.
type observedServices struct {
	initSystem string
	services   map[string]Status
}

func observe(f *reconcilers.Facts, name string) (string, Status, error) {
	for _, k := range f.Keys(KeyPrefix) {
		parsed, err := reconcilers.Parsed(f, k, func(out string) (observedServices, error) {
			initSystem, services := ParseStatus(out)
			return observedServices{initSystem, services}, nil
		})
		if err != nil {
			return "", Status{}, err
		}
		if st, ok := parsed.services[name]; ok {
			return parsed.initSystem, st, nil
		}
	}
	return "", Status{}, fmt.Errorf("service %s was not observed: the reconciler did not declare it in its query", name)
}
