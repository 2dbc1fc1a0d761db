#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, vet, unit and end-to-end
# tests (with the race detector) against real test-host containers, and short
# fuzz runs. It installs what it needs on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v mmdebstrap >/dev/null || need_apt+=(mmdebstrap)
command -v docker >/dev/null || need_apt+=(docker.io)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

echo "== go mod download"
go mod download

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== test-host image"
go run ./hack/testhosts image

echo "== go test -race"
go test -race -count=1 -timeout 40m ./...

echo "== examples/mytool (a tool built with the framework, its own module)"

(cd examples/mytool && go vet ./... && go test -race -count=1 -timeout 10m ./...)

echo "== fuzz (short)"
go test -run '^$' -fuzz '^FuzzLoad$' -fuzztime 15s ./manifest
go test -run '^$' -fuzz '^FuzzQuote$' -fuzztime 15s ./transport
go test -run '^$' -fuzz '^FuzzFrameReader$' -fuzztime 15s ./transport
go test -run '^$' -fuzz '^FuzzParsePaths$' -fuzztime 15s ./reconcilers
