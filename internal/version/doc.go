// Package version says which build of Optimus is running: the module
// version, the commit, whether the tree was modified and the commit's date,
// read from the build information Go embeds (runtime/debug.ReadBuildInfo).
//
// A go install of a tagged module reports that version; a go build in a
// source tree reports "devel" with the commit. Release builds
// (hack/release.sh) stamp what Go could not know through -ldflags -X on
// this package's variables:
//
//	-X github.com/optimus-cm/optimus/internal/version.version=v1.2.3
//	-X github.com/optimus-cm/optimus/internal/version.revision=<commit>
//	-X github.com/optimus-cm/optimus/internal/version.modified=false
//	-X github.com/optimus-cm/optimus/internal/version.buildDate=<commit time, RFC 3339>
//
// The date is the commit's, never the wall clock's, so that a release can
// be built again bit for bit.
package version
