#!/usr/bin/env bash
# Checks deploy/systemd: the unit passes systemd-analyze verify with no
# warning at all, its sandbox keeps systemd-analyze security's exposure at
# 2.5 or below (the score is printed), and the sysusers.d and tmpfiles.d
# files apply to an empty root.
#   ./hack/check-systemd.sh OPTIMUS_CONTROLLER_BINARY
# verify needs the unit's ExecStart to exist: the check runs a copy of the
# unit pointing at the given binary, identical otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:?usage: $0 OPTIMUS_CONTROLLER_BINARY}")
unit=deploy/systemd/optimus-controller.service
max_exposure=25 # tenths: 2.5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sed "s|/usr/local/bin/optimus-controller|$bin|" "$unit" >"$tmp/optimus-controller.service"
# --man=no: the man page is in the release, not installed on the CI machine.
if ! systemd-analyze verify --man=no "$tmp/optimus-controller.service" >"$tmp/verify.log" 2>&1 || [ -s "$tmp/verify.log" ]; then
  echo "$unit: systemd-analyze verify:"; sed "s|$tmp/||" "$tmp/verify.log"; exit 1
fi
if ! systemd-analyze security --offline=true --threshold=$max_exposure "$unit" >"$tmp/security.log" 2>&1; then
  grep -v '^✓' "$tmp/security.log"
  echo "$unit: exposure above 2.5: tighten the sandbox (the ✗ lines above say where)"; exit 1
fi
grep 'Overall exposure level' "$tmp/security.log"

mkdir -p "$tmp/root/etc"
systemd-sysusers --root="$tmp/root" "$PWD/deploy/systemd/optimus-controller.sysusers" >/dev/null 2>&1 ||
  { echo "deploy/systemd/optimus-controller.sysusers does not apply"; exit 1; }
grep -q '^optimus:' "$tmp/root/etc/passwd" || { echo "sysusers made no optimus user"; exit 1; }
systemd-tmpfiles --root="$tmp/root" --create "$PWD/deploy/systemd/optimus-controller.tmpfiles" ||
  { echo "deploy/systemd/optimus-controller.tmpfiles does not apply"; exit 1; }
echo "deploy/systemd: ok"
