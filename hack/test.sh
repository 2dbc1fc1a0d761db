#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, vet, unit and end-to-end
# tests (with the race detector) against real test-host containers, and short
# fuzz runs. It installs what it needs on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v mmdebstrap >/dev/null || need_apt+=(mmdebstrap)
command -v docker >/dev/null || need_apt+=(docker.io)
command -v sqlite3 >/dev/null || need_apt+=(sqlite3)  # reads the run history in a test
command -v chromium >/dev/null || need_apt+=(chromium) # the status page tests drive it
command -v etcd >/dev/null || need_apt+=(etcd-server)  # replica tests run real etcd members
command -v systemd-analyze >/dev/null || need_apt+=(systemd) # checks deploy/systemd
command -v ansible-playbook >/dev/null || need_apt+=(ansible-core) # the import test runs Ansible on a twin host
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

echo "== go mod download"
go mod download

echo "== tracked files: no compiled binaries, nothing over 1 MiB"
go run ./hack/checktree

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== release build, twice: the same bytes (linux/amd64 only, to keep CI short)"
# The other platforms differ only in GOOS/GOARCH; hack/release.sh builds
# them all for a real release. The build is reused below: the systemd
# check verifies the unit against it, and the e2e tests (OPTIMUS_RELEASE_DIR)
# apply with it, check its version, and put it in the controller image.
release=$(mktemp -d)
trap 'rm -rf "$release"' EXIT
release_version=v0.0.0-ci.1
PLATFORMS=linux/amd64 ./hack/release.sh "$release_version" "$release/a" >/dev/null
PLATFORMS=linux/amd64 ./hack/release.sh "$release_version" "$release/b" >/dev/null
if ! diff "$release/a/SHA256SUMS" "$release/b/SHA256SUMS"; then
  echo "two release builds of one commit differ (above): something depends on the clock, the path or the builder"; exit 1
fi
export OPTIMUS_RELEASE_DIR=$release/a OPTIMUS_RELEASE_VERSION=$release_version

echo "== systemd unit (deploy/systemd)"
./hack/check-systemd.sh "$release/a/linux_amd64/optimus-controller"

echo "== test-host image"
go run ./hack/testhosts image

echo "== go test -race"
go test -race -count=1 -timeout 40m ./...

echo "== examples/mytool (a tool built with the framework, its own module)"

(cd examples/mytool && go vet ./... && go test -race -count=1 -timeout 10m ./...)

echo "== fuzz (short): every fuzz target of the module"
# Found, not listed, so that a new target is fuzzed in CI from its first day.
git grep -n '^func Fuzz[A-Za-z0-9_]*(f \*testing.F)' -- '*_test.go' ':!examples/' |
  sed -E 's|^(.*)/[^/]*_test.go:[0-9]+:func (Fuzz[A-Za-z0-9_]*).*|\1 \2|' | sort -u |
  while read -r dir target; do
    echo "-- $target ($dir)"
    # A count, not a duration: go1.26's fuzz coordinator can report a bare
    # "context deadline exceeded" when a duration ends on a busy machine
    # (go.dev/issue/75804, fixed in go1.27); a count has no deadline to race.
    # 20000 runs take 1-10 s per target here.
    go test -run '^$' -fuzz "^${target}\$" -fuzztime 20000x "./$dir"  || exit 1
  done

echo "== chaos (short, seeded): three replicas, etcd and test hosts under faults (docs/reliability.md)"
# The run removes its containers, processes and temporary directory itself,
# on failure and on SIGINT too; the trap below also removes any container it
# left if it was killed outright. CHAOS_SEED replays a run.
# A fixed seed by default, so that every landing faces the same schedule
# of faults; CHAOS_SEED=N tries another.
chaos_seed=${CHAOS_SEED:-103}
echo "chaos seed: $chaos_seed"
chaos_prefix=optimus-chaos-ci-$$
trap 'rm -rf "$release"; docker ps -aq --filter "name=^/?$chaos_prefix-" | xargs -r docker rm -f >/dev/null' EXIT
go run ./hack/chaos -seed "$chaos_seed" -duration 2m -hosts 24 -containers 4 -resync 15s -race -prefix "$chaos_prefix"
