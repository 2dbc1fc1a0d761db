#!/usr/bin/env bash
# A single-node etcd on 127.0.0.1 for trying controller replicas (see
# docs/replicas.md): Debian's etcd-server, installed when missing, with a
# temporary data directory removed when it stops (Ctrl-C).
# OPTIMUS_ETCD_PORT (default 2379) and OPTIMUS_ETCD_PEER_PORT (default 2380) pick the ports.
set -euo pipefail
port=${OPTIMUS_ETCD_PORT:-2379}
peer=${OPTIMUS_ETCD_PEER_PORT:-2380}
if ! command -v etcd >/dev/null; then
  echo "== installing etcd-server"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
fi
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
echo "== etcd on http://127.0.0.1:$port (data in $data; Ctrl-C stops it)"
etcd --name demo --data-dir "$data" \
  --listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
  --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
  --initial-cluster "demo=http://127.0.0.1:$peer" --log-level warn &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT INT TERM
wait $pid
