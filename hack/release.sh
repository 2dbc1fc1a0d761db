#!/usr/bin/env bash
# Release build: ./hack/release.sh VERSION [OUT]
#
# Writes to OUT (default $OUT, else dist/VERSION), which must not exist or
# be empty:
#   OS_ARCH/optimus, OS_ARCH/optimus-controller   static binaries (CGO_ENABLED=0)
#   OS_ARCH/*.cdx.json                            CycloneDX SBOM of each binary's Go modules
#   man/man1/*.1, completions/                    man pages, bash/zsh/fish completions
#   SHA256SUMS                                    of every file above
# for PLATFORMS (default "linux/amd64 linux/arm64 darwin/arm64").
#
# Builds are reproducible: the same commit gives the same bytes, whoever
# builds it and whenever. -trimpath drops local paths, the build ID is
# emptied, and every date is the commit's (SOURCE_DATE_EPOCH), never the
# clock's. VERSION, the commit and the modified flag are stamped into
# internal/version, as Go's build information lacks them in some trees
# (git worktrees, a checkout that is not tagged VERSION).
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: $0 VERSION [OUT]   (VERSION like v1.2.3 or v1.2.3-rc.1)"
version=${1:?$usage}
if ! [[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]]; then
  echo "$0: VERSION $version is not a semantic version with a v (v1.2.3, v1.2.3-rc.1)" >&2
  echo "$usage" >&2
  exit 1
fi
out=${2:-${OUT:-dist/$version}}
if [ -n "$(ls -A "$out" 2>/dev/null)" ]; then
  echo "$0: $out is not empty: remove it, or pass another OUT" >&2
  exit 1
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
platforms=${PLATFORMS:-linux/amd64 linux/arm64 darwin/arm64}
# The SBOM generator, pinned; go install fetches it from the Go module proxy.
cyclonedx=github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0

revision=$(git rev-parse HEAD)
modified=false
if [ -n "$(git status --porcelain)" ]; then
  modified=true
  echo "$0: warning: the tree has uncommitted changes; the binaries say modified=true" >&2
fi
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
export SOURCE_DATE_EPOCH
build_date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
pkg=github.com/optimus-cm/optimus/internal/version
ldflags="-s -w -buildid= -X $pkg.version=$version -X $pkg.revision=$revision -X $pkg.modified=$modified -X $pkg.buildDate=$build_date"
# The environment's GOFLAGS (say -buildvcs=false) must not change a release.
export GOFLAGS= CGO_ENABLED=0

tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
GOBIN=$tools go install "$cyclonedx"
# The generator reads the module's version from git, and its git library
# cannot open a git worktree: it reads a plain clone of the commit. (From
# a modified tree the SBOM is the commit's.)
git clone -q --no-checkout . "$tools/src"
git -C "$tools/src" checkout -q --detach "$revision"
git -C "$tools/src" tag -f "$version" "$revision" >/dev/null # the SBOM's version is VERSION

echo "== $version ($revision, modified=$modified, $build_date) into $out"
for platform in $platforms; do
  os=${platform%/*} arch=${platform#*/}
  dir=$out/${os}_${arch}
  mkdir -p "$dir"
  for cmd in optimus optimus-controller; do
    echo "-- $platform $cmd"
    GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=true -ldflags "$ldflags" -o "$dir/$cmd" "./cmd/$cmd"
    GOOS=$os GOARCH=$arch "$tools/cyclonedx-gomod" app -json -noserial -notimestamp -licenses \
      -main "cmd/$cmd" -output "$dir/$cmd.cdx.json" "$tools/src" 2>"$tools/sbom.log" ||
      { cat "$tools/sbom.log" >&2; exit 1; }
  done
done

echo "-- man pages and completions"
go build -trimpath -ldflags "$ldflags" -o "$tools/optimus" ./cmd/optimus
"$tools/optimus" __gendocs "$out"

(cd "$out" && find . -type f ! -name SHA256SUMS | LC_ALL=C sort | sed 's|^\./||' | xargs sha256sum >SHA256SUMS)
echo "== done: $out/SHA256SUMS"
