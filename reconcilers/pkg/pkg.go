package pkg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// KeyPrefix starts the Key of the query; it ends with a hash of the script.
const KeyPrefix = "packages."

// Managers in the order auto-detection prefers them.
var Managers = []string{"apt", "dnf", "apk"}

// Reconciler reconciles Package resources.
type Reconciler struct{}

var (
	_ reconcilers.TypedReconciler[v1alpha1.PackageSpec] = Reconciler{}
	_ reconcilers.TypedCombiner[v1alpha1.PackageSpec]   = Reconciler{}
)

// Kind implements reconcilers.Reconciler.
func (Reconciler) Kind() string { return v1alpha1.PackageKind.Kind }

// Queries detects the package managers and reads the installed version of
// every package named on the host (and the candidate versions when some
// resource wants the latest) in one read-only command.
func (Reconciler) Queries(_ *v1alpha1.Host, objs []reconcilers.Object[v1alpha1.PackageSpec]) []reconcilers.Query {
	set := map[string]bool{}
	latest := false
	for _, o := range objs {
		s := o.Spec
		for _, n := range s.Names {
			set[n] = true
		}
		latest = latest || s.State == v1alpha1.StateLatest
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	script := QueryScript(names, latest)
	sum := sha256.Sum256([]byte(script))
	return []reconcilers.Query{{Key: KeyPrefix + hex.EncodeToString(sum[:8]), Script: script}}
}

// QueryScript prints "@section" lines followed by each section's output:
// @manager NAME for every manager found, then per manager the installed
// packages as "name<TAB>version<TAB>status" and, for latest, the candidates.
func QueryScript(names []string, latest bool) string {
	args := reconcilers.ShellCommand(names...)
	var b strings.Builder
	b.WriteString("LC_ALL=C; export LC_ALL\n")
	b.WriteString("for m in apt-get dnf apk; do command -v $m >/dev/null 2>&1 && echo \"@manager ${m%-get}\"; done\n")
	b.WriteString("if command -v dpkg-query >/dev/null 2>&1; then echo @apt-installed; " +
		"i=$(dpkg-query -W -f='${Package}\\t${Version}\\t${db:Status-Abbrev}\\n' " + args + " 2>/dev/null); printf '%s\\n' \"$i\"; fi\n")
	b.WriteString("if command -v dnf >/dev/null 2>&1; then echo @dnf-installed; " +
		"ri=$(rpm -q --qf '%{NAME}\\t%{EPOCH}:%{VERSION}-%{RELEASE}\\tii\\n' " + args + " 2>/dev/null | grep '\t'); printf '%s\\n' \"$ri\"; fi\n")
	b.WriteString("if command -v apk >/dev/null 2>&1; then echo @apk-installed; " +
		"ai=$(for p in " + args + "; do apk info -e \"$p\" >/dev/null 2>&1 && printf '%s\\t\\tii\\n' \"$p\"; done); printf '%s\\n' \"$ai\"; fi\n")
	// What the lists offer also says which packages they do not know. It is
	// asked for the packages not installed only (apt: all of them for
	// latest, its candidates being its upgrades), so that a converged host
	// pays nothing for it. Every read is local: dnf's -C never downloads.
	notInstalled := func(v string) string {
		return "$(printf '%s\\n' \"$" + v + "\" | awk -F'\\t' 'BEGIN { for (n = 1; n < ARGC; n++) want[ARGV[n]] = 1; ARGC = 1 } " +
			"substr($3, 2, 1) ~ /[iWt]/ { delete want[$1] } END { for (p in want) print p }' " + args + ")"
	}
	policy := "$(printf '%s\\n' " + args + ")"
	if !latest {
		policy = notInstalled("i")
	}
	b.WriteString("if command -v apt-cache >/dev/null 2>&1; then echo @apt-policy; p=" + policy + "; [ -z \"$p\" ] || apt-cache " + aptNoCacheFiles + " policy $p 2>/dev/null; fi\n")
	b.WriteString("if command -v dnf >/dev/null 2>&1; then echo @dnf-available; p=" + notInstalled("ri") + "; [ -z \"$p\" ] || dnf -q -C list --available $p 2>/dev/null; fi\n")
	b.WriteString("if command -v apk >/dev/null 2>&1; then echo @apk-available; p=" + notInstalled("ai") + "; [ -z \"$p\" ] || apk policy $p 2>/dev/null; fi\n")
	b.WriteString(listsQueryScript())
	if latest {
		b.WriteString("if command -v dnf >/dev/null 2>&1; then echo @dnf-upgrades; dnf -q -C list --upgrades " + args + " 2>/dev/null; fi\n")
		b.WriteString("if command -v apk >/dev/null 2>&1; then echo @apk-upgrades; apk version -l '<' " + args + " 2>/dev/null; fi\n")
	}
	b.WriteString("exit 0\n")
	return b.String()
}

// aptNoCacheFiles keeps apt-cache's binary caches in memory: without it,
// apt-cache writes /var/cache/apt/*pkgcache.bin where they are missing or
// older than the lists, and observing must change nothing.
const aptNoCacheFiles = "-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache="

// State is what the query found on a host.
type State struct {
	// Managers found, in detection order.
	Managers []string
	// Installed versions per manager, by package name ("" when the manager
	// does not say).
	Installed map[string]map[string]string
	// Upgradable per manager: package name to candidate version ("" when the
	// manager does not say), for packages newer than the installed one.
	Upgradable map[string]map[string]string
	// Candidates (apt) by package name; "(none)" when there is none.
	Candidates map[string]string
	// Available per manager (dnf, apk): the version the package lists offer,
	// by name, for packages not installed; a name missing is unknown to
	// the lists.
	Available map[string]map[string]string
	// ListsRefreshed is when each manager's package lists were last
	// refreshed (Unix seconds); absent when they never were.
	ListsRefreshed map[string]int64
	// Now is the host's clock when it was observed (Unix seconds).
	Now int64
}

// ParseState parses the output of QueryScript.
func ParseState(out string) State {
	st := State{Installed: map[string]map[string]string{}, Upgradable: map[string]map[string]string{}, Candidates: map[string]string{},
		Available: map[string]map[string]string{}, ListsRefreshed: map[string]int64{}}
	for _, m := range Managers {
		st.Installed[m], st.Upgradable[m], st.Available[m] = map[string]string{}, map[string]string{}, map[string]string{}
	}
	section, policyPkg, apkPkg := "", "", ""
	for _, line := range strings.Split(out, "\n") {
		if m, ok := strings.CutPrefix(line, "@manager "); ok {
			st.Managers = append(st.Managers, m)
			continue
		}
		if strings.HasPrefix(line, "@") {
			section = line[1:]
			continue
		}
		switch section {
		case "lists":
			st.parseLists(line)
		case "apt-installed", "dnf-installed", "apk-installed":
			f := strings.Split(line, "\t")
			if len(f) != 3 {
				continue
			}
			// dpkg's status: desired, then current state; i, W and t are
			// installed (the last two awaiting triggers).
			if len(f[2]) >= 2 && strings.ContainsRune("iWt", rune(f[2][1])) {
				st.Installed[strings.TrimSuffix(section, "-installed")][f[0]] = strings.TrimPrefix(f[1], "(none):")
			}
		case "apt-policy":
			if line != "" && line[0] != ' ' && strings.HasSuffix(line, ":") {
				policyPkg, _, _ = strings.Cut(strings.TrimSuffix(line, ":"), ":")
			} else if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Candidate: "); ok && policyPkg != "" {
				st.Candidates[policyPkg] = v
			}
		case "dnf-available":
			// "git.x86_64   2.39.3-1.el9   appstream", after a header.
			if f := strings.Fields(line); len(f) >= 2 {
				if i := strings.LastIndexByte(f[0], '.'); i > 0 {
					st.Available["dnf"][f[0][:i]] = f[1]
				}
			}
		case "apk-available":
			// "git policy:", then "  2.40.1-r0:" per version (the first
			// preferred), then its repositories, further indented.
			switch {
			case strings.HasSuffix(line, " policy:") && line[0] != ' ':
				apkPkg = strings.TrimSuffix(line, " policy:")
			case apkPkg != "" && strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   ") && strings.HasSuffix(line, ":"):
				st.Available["apk"][apkPkg] = strings.TrimSuffix(strings.TrimSpace(line), ":")
				apkPkg = ""
			}
		case "dnf-upgrades":
			f := strings.Fields(line)
			if len(f) >= 2 {
				name := f[0]
				if i := strings.LastIndexByte(name, '.'); i > 0 {
					name = name[:i]
				}
				st.Upgradable["dnf"][name] = f[1]
			}
		case "apk-upgrades":
			// "name-1.0-r0 < 1.1-r0": the name is what precedes the version.
			f := strings.Fields(line)
			if len(f) == 3 && f[1] == "<" {
				if name, ok := apkName(f[0]); ok {
					st.Upgradable["apk"][name] = f[2]
				}
			}
		}
	}
	for name, cand := range st.Candidates {
		if v, ok := st.Installed["apt"][name]; ok && cand != "(none)" && cand != "" && cand != v {
			st.Upgradable["apt"][name] = cand
		}
	}
	return st
}

// candidate is the version the lists of mgr offer for a package that is
// not installed, and whether they know the package at all.
func (st State) candidate(mgr, name string) (string, bool) {
	if mgr == "apt" {
		c := st.Candidates[name]
		return c, c != "" && c != "(none)"
	}
	c, ok := st.Available[mgr][name]
	return c, ok
}

// apkName strips "-VERSION-rN" from an apk package id.
func apkName(id string) (string, bool) {
	parts := strings.Split(id, "-")
	for i := len(parts) - 1; i > 0; i-- {
		if p := parts[i]; p != "" && p[0] >= '0' && p[0] <= '9' {
			return strings.Join(parts[:i], "-"), true
		}
	}
	return "", false
}

// diff is what Plan and Combinable both compute: the manager and the
// packages to install, upgrade or remove.
type diff struct {
	mgr                        string
	missing, outdated, present []string
	changes                    []reconcilers.Change
	// refresh says why the package lists must be refreshed first ("" when
	// they need not be); stamp is when they were last refreshed.
	refresh string
	stamp   int64
}

func plan(req reconcilers.TypedRequest[v1alpha1.PackageSpec]) (diff, error) {
	s := req.Spec
	st, err := reconcilers.Parsed(req.Facts, stateKey(req.Facts), func(out string) (State, error) { return ParseState(out), nil })
	if err != nil {
		return diff{}, err
	}
	d := diff{mgr: s.Manager}
	if d.mgr == "" || d.mgr == "auto" {
		if len(st.Managers) == 0 {
			return diff{}, fmt.Errorf("no supported package manager on the host (looked for apt-get, dnf, apk)")
		}
		d.mgr = st.Managers[0]
	} else if !slices.Contains(st.Managers, d.mgr) {
		return diff{}, fmt.Errorf("spec.manager is %s, but the host has no %s (found: %s)", d.mgr, d.mgr, strings.Join(st.Managers, ", "))
	}
	installed := st.Installed[d.mgr]
	var unknown []string
	for _, n := range s.Names {
		v, ok := installed[n]
		switch {
		case s.State == v1alpha1.StateAbsent && ok:
			d.present = append(d.present, n)
			d.changes = append(d.changes, reconcilers.Change{Field: n, Before: v, After: "absent"})
		case s.State == v1alpha1.StateAbsent:
		case !ok:
			d.missing = append(d.missing, n)
			after := "installed"
			if c, known := st.candidate(d.mgr, n); !known {
				unknown = append(unknown, n)
			} else if c != "" {
				after = c
			}
			d.changes = append(d.changes, reconcilers.Change{Field: n, After: after})
		case s.State == v1alpha1.StateLatest:
			if c, up := st.Upgradable[d.mgr][n]; up {
				d.outdated = append(d.outdated, n)
				if c == "" {
					c = "latest"
				}
				d.changes = append(d.changes, reconcilers.Change{Field: n, Before: v, After: c})
			}
		}
	}
	if len(d.missing)+len(d.outdated) > 0 {
		maxAge := 24 * time.Hour
		if s.CacheValidTime != nil {
			maxAge = s.CacheValidTime.Duration
		}
		d.stamp = st.ListsRefreshed[d.mgr]
		if d.refresh = st.refreshReason(d.mgr, maxAge, unknown); d.refresh != "" {
			d.changes = append([]reconcilers.Change{{Field: "package lists", Before: d.refresh, After: "refreshed"}}, d.changes...)
		}
	}
	return d, nil
}

// stateKey is the key of the package query: the last one when (in tests)
// there are several.
func stateKey(f *reconcilers.Facts) string {
	keys := f.Keys(KeyPrefix)
	if len(keys) == 0 {
		return KeyPrefix
	}
	return keys[len(keys)-1]
}

// Plan implements reconcilers.TypedReconciler.
func (Reconciler) Plan(_ context.Context, req reconcilers.TypedRequest[v1alpha1.PackageSpec]) ([]reconcilers.Action, error) {
	d, err := plan(req)
	if err != nil {
		return nil, err
	}
	switch {
	case len(d.present) > 0:
		return []reconcilers.Action{{
			Op:          reconcilers.OpDelete,
			Description: "remove package " + strings.Join(d.present, ", ") + " (" + d.mgr + ")",
			Changes:     d.changes,
			Script:      Command(d.mgr, "remove", d.present),
		}}, nil
	case len(d.missing)+len(d.outdated) == 0:
		return nil, nil
	}
	var scripts []string
	if d.refresh != "" {
		scripts = append(scripts, refreshCommand(d.mgr, d.stamp))
	}
	if len(d.missing) > 0 {
		scripts = append(scripts, Command(d.mgr, "install", d.missing))
	}
	if len(d.outdated) > 0 {
		scripts = append(scripts, Command(d.mgr, "upgrade", d.outdated))
	}
	op, verb := reconcilers.OpCreate, "install"
	if len(d.missing) == 0 {
		op, verb = reconcilers.OpUpdate, "upgrade"
	}
	if d.refresh != "" {
		verb = "refresh package lists, then " + verb
	}
	return []reconcilers.Action{{
		Op:          op,
		Description: verb + " package " + strings.Join(append(slices.Clone(d.missing), d.outdated...), ", ") + " (" + d.mgr + ")",
		Changes:     d.changes,
		Script:      strings.Join(scripts, " && "),
	}}, nil
}

// Combinable makes one transaction per host: the engine merges the actions
// of every Package resource that installs (or upgrades, or removes) with the
// same manager. The key is "MANAGER VERB". A transaction the manager refuses
// (one unknown name) changes nothing, so when it fails the engine runs each
// resource's own command and only the bad one fails, with the manager's
// message.
func (Reconciler) Combinable(req reconcilers.TypedRequest[v1alpha1.PackageSpec], _ reconcilers.Action) (string, []string) {
	d, err := plan(req)
	switch {
	case err != nil:
		return "", nil
	case len(d.present) > 0:
		return d.mgr + " remove", d.present
	case len(d.outdated) == 0:
		return withRefresh(d.mgr+" install", d.refresh != "", d.stamp), d.missing
	case len(d.missing) == 0:
		return withRefresh(d.mgr+" upgrade", d.refresh != "", d.stamp), d.outdated
	case d.mgr == "apt": // apt-get install also upgrades
		return withRefresh(d.mgr+" install", d.refresh != "", d.stamp), append(slices.Clone(d.missing), d.outdated...)
	}
	return "", nil
}

// Combine is the one package-manager transaction for the actions the
// engine merges: key is "MANAGER VERB".
func (Reconciler) Combine(key string, items []string) string {
	key, refresh, stamp := splitRefresh(key)
	mgr, verb, _ := strings.Cut(key, " ")
	if refresh {
		return refreshCommand(mgr, stamp) + " && " + Command(mgr, verb, items)
	}
	return Command(mgr, verb, items)
}

// Command is the shell command that installs, upgrades or removes names
// with mgr, never asking a question.
func Command(mgr, verb string, names []string) string {
	var args []string
	switch mgr {
	case "apt":
		args = []string{"env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-y", "-q",
			"-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"}
		switch verb {
		case "install", "upgrade":
			args = append(args, "install")
		case "remove":
			args = append(args, "remove")
		}
	case "dnf":
		args = []string{"dnf", "-y", verb}
	case "apk":
		switch verb {
		case "install":
			args = []string{"apk", "add"}
		case "upgrade":
			args = []string{"apk", "add", "--upgrade"}
		case "remove":
			args = []string{"apk", "del"}
		}
	}
	// Isolated: maintainer scripts start daemons, which would otherwise
	// keep the shell's output for as long as they run.
	return transport.Isolate(reconcilers.ShellCommand(append(args, names...)...))
}
