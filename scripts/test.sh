#!/usr/bin/env bash
# README command 2: install what the tests need, then run every test —
# formatting, lints for the server and the browser builds, unit and integration
# tests on SQLite and on a real PostgreSQL, and the browser tests in Chromium
# against the optimised bundle on both databases.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
started=$(date +%s)
work=$(mktemp -d)
chmod 755 "$work" # the PostgreSQL cluster inside runs as another user
server_pid=""
idp_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  if [ -n "$idp_pid" ]; then kill "$idp_pid" 2>/dev/null || true; fi
  stop_postgres "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT

ensure_test_packages
# Before the real checks: on a fresh machine this is the first time the tools
# are installed, and the real install then reuses what it compiled.
say "set-up checks (a fresh machine's path, error reporting, shellcheck)"
scripts/tests/setup.sh
ensure_build_tools

say "formatting"
cargo fmt --all -- --check

say "lints: server (ssr)"
cargo clippy --all-targets -- -D warnings
say "lints: browser (hydrate, wasm32)"
cargo clippy -p frontend --target wasm32-unknown-unknown --target-dir "$FRONT_TARGET" -- -D warnings

build_site release

say "unit and integration tests on SQLite"
cargo test

pg_port=$(free_port)
say "starting PostgreSQL on 127.0.0.1:$pg_port"
start_postgres "$work/pg" "$pg_port"
pg_url="postgres://postgres@127.0.0.1:$pg_port"

say "integration tests on PostgreSQL"
HOTSWAP_TEST_DATABASE_URL="$pg_url/postgres" cargo test -p server --test api

# run_browser_tests NAME DATABASE_URL — a real OpenID provider, the built
# server on a fresh database wired to it, then Playwright.
run_browser_tests() {
  local name=$1 database_url=$2 port idp_port
  port=$(free_port)
  idp_port=$(free_port)
  while [ "$idp_port" = "$port" ]; do idp_port=$(free_port); done
  mkdir -p "$work/$name"
  (cd end2end && OIDC_PORT=$idp_port OIDC_REDIRECT_URI="http://127.0.0.1:$port/auth/oidc/callback" \
    exec node fixtures/oidc-provider.mjs) >"$work/$name-idp.log" 2>&1 &
  idp_pid=$!
  wait_for_http "http://127.0.0.1:$idp_port/.well-known/openid-configuration" "$idp_pid" "$work/$name-idp.log"
  HOTSWAP_ADDR="127.0.0.1:$port" HOTSWAP_DATA_DIR="$work/$name" HOTSWAP_DATABASE_URL="$database_url" \
    HOTSWAP_ADMIN_PASSWORD="$E2E_ADMIN_PASSWORD" \
    HOTSWAP_OIDC_ISSUER="http://127.0.0.1:$idp_port" HOTSWAP_OIDC_CLIENT_ID=hotswap \
    HOTSWAP_OIDC_CLIENT_SECRET=hotswap-test-secret HOTSWAP_OIDC_NAME="Test IdP" \
    HOTSWAP_OIDC_ROLE_MAP="hotswap-admins=default:admin" \
    HOTSWAP_SITE_ROOT="$SITE" HOTSWAP_APPROVAL_SWEEP_INTERVAL=1s HOTSWAP_LOG=warn \
    HOTSWAP_ALLOW_PRIVATE_TARGETS=true "$ROOT/target/debug/hotswap" serve >"$work/$name.log" 2>&1 &
  server_pid=$!
  wait_for_http "http://127.0.0.1:$port/health" "$server_pid" "$work/$name.log"
  say "browser tests on $name"
  if ! (cd end2end && HOTSWAP_E2E_URL="http://127.0.0.1:$port" HOTSWAP_E2E_ADMIN_PASSWORD="$E2E_ADMIN_PASSWORD" \
    HOTSWAP_E2E_OIDC_ISSUER="http://127.0.0.1:$idp_port" npx playwright test); then
    echo "--- server log ($name) ---" >&2; tail -n 50 "$work/$name.log" >&2
    return 1
  fi
  kill "$server_pid" "$idp_pid"; wait "$server_pid" "$idp_pid" 2>/dev/null || true; server_pid=""; idp_pid=""
}

E2E_ADMIN_PASSWORD=end-to-end-admin-password
run_browser_tests sqlite "sqlite://$work/sqlite/hotswap.db?mode=rwc"
psql -q -h 127.0.0.1 -p "$pg_port" -U postgres -c "CREATE DATABASE hotswap_e2e" >/dev/null
run_browser_tests postgres "$pg_url/hotswap_e2e"

say "all tests passed in $(( $(date +%s) - started )) s"
