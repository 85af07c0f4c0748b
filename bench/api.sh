#!/usr/bin/env bash
# The API and the pages at scale, side by side with a bare axum handler in the
# same run: a database seeded with N finished deployments (a year of history),
# 1,000 nodes, then the release server under 64 concurrent clients, on SQLite
# and on PostgreSQL. Prints one markdown table.
#   bench/api.sh [deployments]        (default: 100000; NODES=1000 BENCH_SECONDS=8)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
N=${1:-100000}
NODES=${NODES:-1000}
SECONDS_EACH=${BENCH_SECONDS:-8}
PASSWORD=benchmark-admin-password
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  stop_postgres "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT
# As many open files as this shell may have: each socket is one.
ulimit -S -n "$(ulimit -H -n)" 2>/dev/null || true

STEP="building the release server and the bench tool"
scripts/build.sh release >&2
# The same packages as scripts/build.sh, so the lib is not built twice.
cargo build --release -p server -p hotswap-agent --example api_bench >&2
BIN=target/release/hotswap
BENCH=target/release/examples/api_bench

# load URL CONCURRENCY [HEADER] -> "requests req/s p50 p95 p99 errors"
load() {
  local url=$1 concurrency=$2 header=${3:-}
  if [ -n "$header" ]; then
    "$BENCH" load --url "$url" --concurrency "$concurrency" --seconds "$SECONDS_EACH" --header "$header"
  else
    "$BENCH" load --url "$url" --concurrency "$concurrency" --seconds "$SECONDS_EACH"
  fi
}
# A run where nothing was answered in time says so instead of "p95 NaN".
rate() { awk '$1 == 0 {printf "no answer within 2 s"; exit} {printf "%s req/s, p95 %s ms", $2, $4}' <<<"$1"; }
p95() { awk '$1 == 0 {printf "no answer within 2 s"; exit} {printf "p95 %s ms", $4}' <<<"$1"; }
# errors RESULT -> ", N errors" when there were any
errors() { awk '$6 > 0 {printf ", %s errors", $6}' <<<"$1"; }
rss_mib() { awk '/VmRSS/ {printf "%d MiB", $2 / 1024}' "/proc/$1/status"; }

declare -A cell
# serve NAME DATABASE_URL -> sets pid and base
serve() {
  local port
  port=$(free_port)
  base="http://127.0.0.1:$port"
  STEP="starting the server on $1"
  HOTSWAP_ADDR=127.0.0.1:$port HOTSWAP_DATABASE_URL=$2 HOTSWAP_DATA_DIR="$work/data-$1" \
    HOTSWAP_ADMIN_PASSWORD=$PASSWORD HOTSWAP_LOG=warn HOTSWAP_DEPLOY_RATE_LIMIT=100000 \
    "$BIN" serve >>"$work/server-$1.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  wait_for_http "$base/health"
}

# measure NAME DATABASE_URL
measure() {
  local name=$1 url=$2 pid base token cookie id r
  # The first start creates the schema and the admin the seed needs.
  serve "$name" "$url"
  STEP="seeding $N deployments on $name"
  say "$STEP"
  token=$("$BENCH" seed --database-url "$url" --deployments "$N" --nodes "$NODES")
  # Measured on a server started on the seeded database, as after a
  # restart: the one that watched the seed would still be fanning out its
  # 200,000 events to nobody.
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  serve "$name" "$url"
  curl -fsS -c "$work/jar-$name" -o /dev/null -H 'content-type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" "$base/api/v1/auth/login"
  cookie="Cookie: $(sed 's/^#HttpOnly_//' "$work/jar-$name" | awk '!/^#/ && NF >= 7 {print $6 "=" $7}' | paste -sd ';')"
  id=$(curl -fsS -H "Authorization: Bearer $token" "$base/api/v1/deployments?limit=1" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["items"][0]["id"])')

  STEP="checking the signed-in dashboard answers 200 on $name"
  [ "$(curl -sS -o /dev/null -w '%{http_code}' -H "$cookie" "$base/")" = 200 ] || die "$STEP: it did not"
  STEP="measuring $name"
  say "$STEP"
  r=$(load "$base/api/v1/deployments?limit=50" 64 "Authorization: Bearer $token")
  cell[list,$name]="$(rate "$r")$(errors "$r")"
  r=$(load "$base/metrics" 1)
  cell[metrics1,$name]="$(p95 "$r")"
  r=$(load "$base/metrics" 64)
  cell[metrics64,$name]="$(rate "$r")$(errors "$r")"
  r=$(load "$base/" 1 "$cookie")
  cell[page1,$name]="$(p95 "$r")"
  for page in / /deployments "/deployments/{id}" /approvals /admin; do
    r=$(load "$base${page/\{id\}/$id}" 64 "$cookie")
    cell[$page,$name]="$(rate "$r")$(errors "$r")"
  done
  r=$("$BENCH" post --base "$base" --token "$token" --requests 100)
  cell[post,$name]="$(p95 "$r")"
  cell[rss,$name]=$(rss_mib "$pid")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

measure sqlite "sqlite://$work/bench.db?mode=rwc"
pg_port=$(free_port)
STEP="starting PostgreSQL"
start_postgres "$work/pg" "$pg_port"
measure postgres "postgres://postgres@127.0.0.1:$pg_port/postgres"

STEP="measuring the bare handler"
bare_port=$(free_port)
"$BENCH" bare --addr "127.0.0.1:$bare_port" &
pids+=("$!")
wait_for_http "http://127.0.0.1:$bare_port/api/v1/deployments"
r=$(load "http://127.0.0.1:$bare_port/api/v1/deployments" 64)
bare=$(rate "$r")

echo "$N deployments, $NODES nodes, 64 clients for ${SECONDS_EACH} s each, $(date -u +%F)"
echo
echo "| measure | SQLite | PostgreSQL | bare axum |"
echo "|---|---|---|---|"
row() { echo "| $1 | ${cell[$2,sqlite]} | ${cell[$2,postgres]} | ${3:-—} |"; }
row "\`GET /api/v1/deployments?limit=50\` (bearer token), 64 clients" list "$bare"
row "one \`GET /metrics\` at a time" metrics1
row "\`GET /metrics\`, 64 scrapers" metrics64
row "\`POST /api/v1/deployments\`, one after another" post
row "one \`GET /\` (the dashboard, signed in) at a time" page1
for page in / /deployments "/deployments/{id}" /approvals /admin; do
  row "\`GET $page\` (signed in), 64 viewers" "$page"
done
row "server RSS after the run" rss
