#!/usr/bin/env bash
# Orchestration overhead of Direct and Rolling deployments across 100 and 1,000
# lightweight agents (one process, real WebSockets, instant swaps), on SQLite and
# on PostgreSQL; then job-queue claim+release cycles per second on PostgreSQL,
# Hotswap's queue code next to pgbench running the same SQL, in one run.
#   bench/engine.sh [nodes]        (default: 100,1000)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
NODES=${1:-100,1000}
work=$(mktemp -d)
chmod 755 "$work"
trap 'stop_postgres "$work/pg"; rm -rf "$work"' EXIT
# As many open files as this shell may have: each socket is one.
ulimit -S -n "$(ulimit -H -n)" 2>/dev/null || true

cargo build --release -p server --example engine_bench
BENCH=target/release/examples/engine_bench

echo "## Roll-out overhead"
echo
"$BENCH" --nodes "$NODES"
port=$(free_port)
start_postgres "$work/pg" "$port"
pg="postgres://postgres@127.0.0.1:$port/postgres"
"$BENCH" --nodes "$NODES" --database-url "$pg" --claims | tee "$work/pg.out" | grep --line-buffered -v '^QUEUE_URL='
queue_url=$(sed -n 's/^QUEUE_URL=//p' "$work/pg.out")

# The same claim and release, as raw SQL, with as many clients.
cat >"$work/claim.sql" <<'SQL'
UPDATE jobs SET locked_by = 'pgbench', lease_expires_at = now() + interval '30 seconds', attempts = attempts + 1
 WHERE id = (SELECT id FROM jobs WHERE run_after <= now() AND (locked_by IS NULL OR lease_expires_at < now())
             ORDER BY run_after LIMIT 1 FOR UPDATE SKIP LOCKED)
 RETURNING id AS job_id \gset
UPDATE jobs SET locked_by = NULL, lease_expires_at = NULL, run_after = now() WHERE id = :job_id AND locked_by = 'pgbench';
SQL
raw=$(pgbench -n -c 8 -j 2 -T 10 -f "$work/claim.sql" "$queue_url" 2>/dev/null | awk '/^tps/ {print int($3)}')
echo "queue (raw SQL in pgbench, 8 clients, 10 s): $raw claim+release cycles/s"
