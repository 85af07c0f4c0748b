#!/usr/bin/env bash
# What a node installs and runs: the size of the `hotswap-agent` binary and
# the resident memory of an enrolled agent idling on its connection, side by
# side with the same agent run as `hotswap agent` (the server's binary).
#   bench/agent.sh     (builds both release binaries if they are missing)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
say "building the release binaries"
cargo build --release -p server -p hotswap-agent
SERVER=target/release/hotswap
AGENT=target/release/hotswap-agent
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
address="http://127.0.0.1:$port"

say "starting a server"
HOTSWAP_ADDR=127.0.0.1:$port HOTSWAP_DATA_DIR=$work/data HOTSWAP_ADMIN_PASSWORD=benchmark-password \
  HOTSWAP_LOG=warn "$SERVER" serve >"$work/server.log" 2>&1 &
pids+=($!)
until curl -fsS -o /dev/null "$address/health" 2>/dev/null; do sleep 0.05; done
token=$(HOTSWAP_DATA_DIR=$work/data "$SERVER" token create --tenant default --user admin --name bench --role admin | head -1)
[ -n "$token" ] || die "hotswap token create printed no token"
enrollment() {
  curl -fsS -H "Authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"uses": 1}' "$address/api/v1/environments/dev/enrollment-tokens" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}

say "enrolling one agent of each build"
for kind in standalone alias; do
  if [ "$kind" = standalone ]; then cmd=("$AGENT"); else cmd=("$SERVER" agent); fi
  enrollment_token=$(enrollment)
  HOTSWAP_LOG=warn "${cmd[@]}" --server "$address" --token "$enrollment_token" --name "bench-$kind" \
    --root "$work/$kind" --heartbeat 2s >"$work/$kind.log" 2>&1 &
  pids+=($!)
  eval "pid_$kind=$!"
done
online=0
for _ in $(seq 1 100); do
  online=$(curl -fsS -H "Authorization: Bearer $token" "$address/api/v1/nodes" | { grep -o '"status":"online"' || true; } | wc -l)
  [ "$online" -ge 2 ] && break
  sleep 0.1
done
[ "$online" -ge 2 ] || die "the agents did not come online (logs in $work)"
sleep 10 # idle on the connection: heartbeats only
rss() { awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$1/status"; }
size() { stat -c %s "$1" | awk '{printf "%.1f", $1 / 1048576}'; }
# shellcheck disable=SC2154 # set by the eval above
{
  echo "| build | binary | idle RSS, enrolled and connected |"
  echo "|---|---|---|"
  echo "| hotswap-agent | $(size "$AGENT") MiB | $(rss "$pid_standalone") MiB |"
  echo "| hotswap agent (server binary) | $(size "$SERVER") MiB | $(rss "$pid_alias") MiB |"
}
