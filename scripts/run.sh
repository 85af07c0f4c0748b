#!/usr/bin/env bash
# README command 1: install the build tools, build, and run Hotswap on its
# embedded SQLite database. Extra arguments go to `hotswap serve`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/build.sh" release
cd "$ROOT"
exec "$ROOT/target/release/hotswap" serve "$@"
