package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"golang.org/x/mod/module"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// Set at link time by release builds; see the package documentation.
var (
	version   string
	revision  string
	modified  string
	buildDate string
)

// Devel is the version of a build from a source tree.
const Devel = "devel"

// Get returns the running binary's build information.
func Get() v1alpha1.BuildInfo {
	bi, _ := debug.ReadBuildInfo()
	return fromBuild(bi, stamped{version: version, revision: revision, modified: modified, buildDate: buildDate})
}

// stamped is what the linker set, each field empty when it was not.
type stamped struct {
	version, revision, modified, buildDate string
}

// fromBuild combines Go's build information (nil when there is none) with
// what the linker stamped; the stamp wins, as it is the release's word.
func fromBuild(bi *debug.BuildInfo, st stamped) v1alpha1.BuildInfo {
	info := v1alpha1.BuildInfo{Version: Devel, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	var vcs bool
	if bi != nil {
		info.GoVersion = bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Revision, vcs = s.Value, true
			case "vcs.time":
				info.BuildDate = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
		info.Version = moduleVersion(bi.Main.Version, vcs)
	}
	if st.version != "" {
		info.Version = st.version
	}
	if st.revision != "" {
		info.Revision = st.revision
	}
	if st.modified != "" {
		info.Modified = st.modified == "true"
	}
	if st.buildDate != "" {
		info.BuildDate = st.buildDate
	}
	return info
}

// moduleVersion is what the main module's version says to a person. A
// build from a source tree (vcs is true) gets a pseudo-version from Go
// ("v0.0.0-20261206184700-eda5333abcde+dirty") that names no release:
// that is "devel", and the revision says which commit. A go install of
// module@commit has no VCS information, and there the pseudo-version is the
// only record of the commit, so it is kept.
func moduleVersion(v string, vcs bool) string {
	switch {
	case v == "" || v == "(devel)":
		return Devel
	case vcs && module.IsPseudoVersion(v):
		return Devel
	}
	return v
}

// String formats info for a person: the version first, then what identifies
// the build.
func String(name string, info v1alpha1.BuildInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", name, info.Version)
	if info.Revision != "" {
		rev := info.Revision
		if info.Modified {
			rev += " (modified)"
		}
		fmt.Fprintf(&b, "  revision:   %s\n", rev)
	}
	if info.BuildDate != "" {
		fmt.Fprintf(&b, "  build date: %s\n", info.BuildDate)
	}
	fmt.Fprintf(&b, "  go:         %s %s\n", info.GoVersion, info.Platform)
	return b.String()
}
