#!/usr/bin/env bash
# How long a newcomer waits: both README commands, from a clean clone of HEAD,
# on this machine made to look fresh. The build tools are hidden first — the
# wasm-bindgen CLI moved out of PATH, the wasm32 target removed, an empty
# CARGO_HOME (no crate cache) and an empty npm cache — and, with --remove-apt,
# the apt packages the tests install (Chromium, Prometheus, shellcheck).
# Everything hidden is put back at the end. With --test-only, only the test
# command is measured (as a CI run on a fresh machine would meet it).
#   bench/first-run.sh [--remove-apt] [--test-only]
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
work=$(mktemp -d)
chmod 755 "$work"
hidden="$work/hidden"
mkdir -p "$hidden"
real_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
server_pid=""
restore() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  for tool in "$hidden"/*; do [ -e "$tool" ] && mv "$tool" "$real_bin/"; done
  rm -rf "$work"
}
trap restore EXIT

say "hiding the build tools"
for tool in wasm-bindgen wasm-bindgen-test-runner wasm2es6js; do
  if [ -e "$real_bin/$tool" ]; then mv "$real_bin/$tool" "$hidden/"; fi
done
rustup target remove wasm32-unknown-unknown >/dev/null 2>&1 || true
remove_apt=false test_only=false
for arg in "$@"; do
  case "$arg" in
    --remove-apt) remove_apt=true ;;
    --test-only) test_only=true ;;
    *) die "usage: bench/first-run.sh [--remove-apt] [--test-only]" ;;
  esac
done
if $remove_apt; then
  as_root apt-get remove -y -qq chromium prometheus shellcheck >/dev/null
fi
git clone -q "$ROOT" "$work/hotswap"
export CARGO_HOME="$work/cargo-home" npm_config_cache="$work/npm-cache"
mkdir -p "$CARGO_HOME"
cd "$work/hotswap"

run_seconds="not measured"
if ! $test_only; then
say "README command 1: scripts/run.sh, until the server answers"
port=$(free_port)
started=$(date +%s)
HOTSWAP_ADDR="127.0.0.1:$port" HOTSWAP_DATA_DIR="$work/data" scripts/run.sh >"$work/run.log" 2>&1 &
server_pid=$!
until curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null; do
  kill -0 "$server_pid" 2>/dev/null || { tail -n 30 "$work/run.log" >&2; die "scripts/run.sh stopped before serving"; }
  sleep 1
done
run_seconds=$(( $(date +%s) - started ))
curl -fsS -o /dev/null "http://127.0.0.1:$port/login"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
echo "scripts/run.sh: serving after $run_seconds s"
fi

say "README command 2: scripts/test.sh"
started=$(date +%s)
if ! scripts/test.sh >"$work/test.log" 2>&1; then tail -n 60 "$work/test.log" >&2; die "scripts/test.sh failed"; fi
test_seconds=$(( $(date +%s) - started ))
echo "scripts/run.sh: serving after $run_seconds s; then scripts/test.sh: passed in $test_seconds s"
ls -l target/site/pkg/hotswap_bg.wasm target/site/pkg/hotswap_bg.wasm.gz
tail -n 3 "$work/test.log"
