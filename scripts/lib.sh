# Shared by the scripts in this folder. Source it; do not run it.
# Everything here installs from package registries only: rustup, crates.io, npm, apt.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FRONT_TARGET="$ROOT/target/front"
SITE="$ROOT/target/site"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# The wasm-bindgen version pinned in Cargo.lock; the CLI must match it exactly.
locked_wasm_bindgen() {
  grep -A1 '^name = "wasm-bindgen"$' "$ROOT/Cargo.lock" | sed -n 's/^version = "\(.*\)"$/\1/p'
}

ensure_build_tools() {
  command -v cargo >/dev/null || die "cargo is missing: install Rust with rustup first"
  command -v npm >/dev/null || die "npm is missing: install Node.js and npm first"
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  local want have
  want=$(locked_wasm_bindgen)
  have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')
  if [ "$want" != "$have" ]; then
    say "installing wasm-bindgen-cli $want (matches Cargo.lock; takes a few minutes once)"
    # Not --locked: one of its pinned dependencies is no longer in the index.
    cargo install wasm-bindgen-cli --version "$want"
  fi
  if [ ! -x "$ROOT/scripts/node_modules/.bin/wasm-opt" ]; then
    say "installing wasm-opt (binaryen 132) from npm"
    (cd "$ROOT/scripts" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# build_site debug|release — the WASM bundle, its JS glue and the CSS into target/site.
build_site() {
  local mode=$1 profile dir
  if [ "$mode" = release ]; then profile=wasm-release; dir=wasm-release; else profile=dev; dir=debug; fi
  say "building the front end ($mode)"
  cargo build -p frontend --lib --target wasm32-unknown-unknown --profile "$profile" \
    --target-dir "$FRONT_TARGET"
  local wasm="$FRONT_TARGET/wasm32-unknown-unknown/$dir/frontend.wasm"
  local pkg="$SITE/pkg" stamp="$SITE/pkg/.built-from"
  mkdir -p "$pkg"
  # Skip bindgen and wasm-opt when this exact wasm was already processed.
  local fingerprint
  fingerprint="$mode $(stat -c '%Y %s' "$wasm")"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$fingerprint" ]; then
    wasm-bindgen --target web --no-typescript --out-dir "$pkg" --out-name hotswap "$wasm"
    if [ "$mode" = release ]; then
      say "optimising the bundle with wasm-opt -Oz"
      "$ROOT/scripts/node_modules/.bin/wasm-opt" -Oz \
        --enable-bulk-memory --enable-nontrapping-float-to-int --enable-reference-types \
        --enable-sign-ext --enable-multivalue \
        "$pkg/hotswap_bg.wasm" -o "$pkg/hotswap_bg.wasm"
    fi
    gzip -9 -k -f "$pkg/hotswap_bg.wasm"
    gzip -9 -k -f "$pkg/hotswap.js"
    echo "$fingerprint" > "$stamp"
  fi
  cp "$ROOT/style/main.css" "$pkg/hotswap.css"
  gzip -9 -k -f "$pkg/hotswap.css"
  cp -r "$ROOT/public/." "$SITE/"
}

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# PostgreSQL server binaries, Debian's Chromium and Prometheus (the canary
# analysis tests query a real one), from apt, when missing.
ensure_test_packages() {
  local missing=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -x /usr/bin/prometheus ] || missing+=(prometheus)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} from apt"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if [ ! -x "$ROOT/end2end/node_modules/.bin/playwright" ] || [ ! -d "$ROOT/end2end/node_modules/oidc-provider" ]; then
    say "installing Playwright and oidc-provider from npm (no browser download: Debian's Chromium is used)"
    (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
}

postgres_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_postgres DIR PORT — a throwaway cluster; PostgreSQL refuses to run as root,
# so as root it runs as the `postgres` user.
start_postgres() {
  local dir=$1 port=$2 bin run=()
  bin=$(postgres_bin)
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$dir"; run=(runuser -u postgres --); fi
  "${run[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null
  "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
}

stop_postgres() {
  local dir=$1 bin run=()
  bin=$(postgres_bin)
  [ -d "$dir/data" ] || return 0
  if [ "$(id -u)" = 0 ]; then run=(runuser -u postgres --); fi
  "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

# wait_for_http URL — until it answers 200, for at most 30 s.
wait_for_http() {
  local url=$1
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.2
  done
  die "nothing answered at $url"
}
