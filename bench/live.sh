#!/usr/bin/env bash
# Live-event fan-out: 1,000 WebSocket clients on one server, events written at
# a steady rate, event-to-client latency p50/p99, on SQLite and on PostgreSQL.
#   bench/live.sh [clients]        (default: 1000; env EVENTS=200 RATE=20 per second)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
CLIENTS=${1:-1000}
EVENTS=${EVENTS:-200}
RATE=${RATE:-20}
work=$(mktemp -d)
chmod 755 "$work"
trap 'stop_postgres "$work/pg"; rm -rf "$work"' EXIT
# As many open files as this shell may have: each socket is one.
ulimit -S -n "$(ulimit -H -n)" 2>/dev/null || true

cargo build --release -p server --example live_bench
BENCH=target/release/examples/live_bench

"$BENCH" --clients "$CLIENTS" --events "$EVENTS" --rate "$RATE"
port=$(free_port)
start_postgres "$work/pg" "$port"
"$BENCH" --clients "$CLIENTS" --events "$EVENTS" --rate "$RATE" \
  --database-url "postgres://postgres@127.0.0.1:$port/postgres" | tail -n 1
