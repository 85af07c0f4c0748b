#!/usr/bin/env bash
# Cold start to the first 200 on /health, and idle resident memory, of the
# release binary on a fresh embedded database (which includes migrating it and
# creating the first-run admin).
#   bench/startup.sh [runs]        (default: 10; needs scripts/build.sh release first)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/hotswap
[ -x "$BIN" ] || { echo "build first: scripts/build.sh release" >&2; exit 1; }
RUNS=${1:-10}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

measure() { # measure DATA_DIR -> "millis rss_kib" (fresh when DATA_DIR is new)
  local data=$1 p pid t0 t1 rss
  p=$(port)
  t0=$(date +%s%N)
  HOTSWAP_ADDR=127.0.0.1:$p HOTSWAP_DATA_DIR=$data HOTSWAP_ADMIN_PASSWORD=benchmark-password HOTSWAP_LOG=warn \
    "$BIN" serve >/dev/null 2>&1 &
  pid=$!
  until curl -fsS -o /dev/null "http://127.0.0.1:$p/health" 2>/dev/null; do sleep 0.002; done
  t1=$(date +%s%N)
  sleep 2 # settle, then read idle memory
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$(( (t1 - t0) / 1000000 )) $rss"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

fresh=(); warm=(); rss=()
for i in $(seq 1 "$RUNS"); do
  read -r ms kib < <(measure "$work/fresh-$i"); fresh+=("$ms"); rss+=("$kib")
  read -r ms kib < <(measure "$work/fresh-$i"); warm+=("$ms"); rss+=("$kib")
done
echo "runs: $RUNS"
echo "cold start to first 200 on /health, fresh database (migrate + first run): median $(printf '%s\n' "${fresh[@]}" | median) ms"
echo "cold start to first 200 on /health, existing database: median $(printf '%s\n' "${warm[@]}" | median) ms"
echo "idle RSS after start: median $(( $(printf '%s\n' "${rss[@]}" | median | cut -d. -f1) / 1024 )) MiB"
