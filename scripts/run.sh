#!/usr/bin/env bash
# README command 1: install the build tools, build, and run Hotswap on its
# embedded SQLite database. Extra arguments go to `hotswap serve`;
# `scripts/run.sh demo` runs the self-contained demo instead.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/build.sh" release
cd "$ROOT"
if [ "${1:-}" = demo ]; then
  shift
  exec "$ROOT/target/release/hotswap" demo "$@"
fi
exec "$ROOT/target/release/hotswap" serve "$@"
