package version

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

func vcsSettings(rev, time, modified string) []debug.BuildSetting {
	return []debug.BuildSetting{
		{Key: "-trimpath", Value: "true"},
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: rev},
		{Key: "vcs.time", Value: time},
		{Key: "vcs.modified", Value: modified},
	}
}

func TestFromBuild(t *testing.T) {
	const rev = "eda5333abcdef0123456789abcdef0123456789a"
	const commitTime = "2026-12-06T18:47:00Z"
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		st   stamped
		want v1alpha1.BuildInfo
	}{{
		name: "go install module@tag",
		bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}},
		want: v1alpha1.BuildInfo{Version: "v1.4.0", GoVersion: "go1.26.8"},
	}, {
		name: "go install module@commit keeps the pseudo-version: nothing else names the commit",
		bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.1-0.20261206184700-eda5333abcde"}},
		want: v1alpha1.BuildInfo{Version: "v1.4.1-0.20261206184700-eda5333abcde", GoVersion: "go1.26.8"},
	}, {
		name: "go build in a checkout is devel with the revision",
		bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261206184700-eda5333abcde+dirty"}, Settings: vcsSettings(rev, commitTime, "true")},
		want: v1alpha1.BuildInfo{Version: Devel, Revision: rev, Modified: true, BuildDate: commitTime, GoVersion: "go1.26.8"},
	}, {
		name: "go build with -buildvcs=false",
		bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
		want: v1alpha1.BuildInfo{Version: Devel, GoVersion: "go1.26.8"},
	}, {
		name: "a tagged checkout keeps its tag",
		bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}, Settings: vcsSettings(rev, commitTime, "false")},
		want: v1alpha1.BuildInfo{Version: "v1.4.0", Revision: rev, BuildDate: commitTime, GoVersion: "go1.26.8"},
	}, {
		name: "a release build's stamp wins",
		bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcsSettings(rev, commitTime, "true")},
		st:   stamped{version: "v2.0.0", revision: "0123456789abcdef0123456789abcdef01234567", modified: "false", buildDate: "2026-12-01T00:00:00Z"},
		want: v1alpha1.BuildInfo{Version: "v2.0.0", Revision: "0123456789abcdef0123456789abcdef01234567", BuildDate: "2026-12-01T00:00:00Z", GoVersion: "go1.26.8"},
	}, {
		name: "no build information at all",
		want: v1alpha1.BuildInfo{Version: Devel},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fromBuild(tt.bi, tt.st)
			if got.Platform == "" {
				t.Errorf("platform is empty")
			}
			tt.want.Platform = got.Platform
			if tt.want.GoVersion == "" {
				tt.want.GoVersion = got.GoVersion
			}
			if got != tt.want {
				t.Errorf("fromBuild =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	s := String("optimus", v1alpha1.BuildInfo{Version: Devel, Revision: "eda5333", Modified: true, BuildDate: "2026-12-06T18:47:00Z", GoVersion: "go1.26.8", Platform: "linux/amd64"})
	for _, want := range []string{"optimus devel\n", "eda5333 (modified)", "2026-12-06T18:47:00Z", "go1.26.8 linux/amd64"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() = %q, want it to contain %q", s, want)
		}
	}
}

// TestGetInTestBinary checks Get against the test binary itself, which
// has build information but no stamp: the version is never empty.
func TestGetInTestBinary(t *testing.T) {
	info := Get()
	if info.Version == "" || info.GoVersion == "" || info.Platform == "" {
		t.Errorf("Get() = %+v: version, Go version and platform must be set", info)
	}
}
