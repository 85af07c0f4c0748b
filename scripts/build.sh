#!/usr/bin/env bash
# Builds Hotswap without cargo-leptos: the WASM front end into target/site and
# the `hotswap` server and `hotswap-agent` binaries. Installs the build tools it needs first.
#   scripts/build.sh [release|debug]     (default: release)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
MODE=${1:-release}
case "$MODE" in release|debug) ;; *) die "usage: scripts/build.sh [release|debug]" ;; esac
cd "$ROOT"
ensure_build_tools
build_site "$MODE"
say "building the server ($MODE)"
if [ "$MODE" = release ]; then cargo build -p server -p hotswap-agent --release; else cargo build -p server -p hotswap-agent; fi
say "built: target/$([ "$MODE" = release ] && echo release || echo debug)/{hotswap,hotswap-agent}, site in target/site"
