# shellcheck shell=bash
# Shared by the scripts in this folder. Source it; do not run it.
# Everything here installs from package registries only: rustup, crates.io, npm, apt.

# Stop at the first failure, and always say what failed: the step (the last
# `say`), the command, its exit status and where it is. A script that dies
# without a word is a bug.
set -Eeuo pipefail
STEP="starting"
on_error() {
  local status=$1 line=$2 command=$3 source=$4
  # shellcheck disable=SC2016 # the backquotes are literal
  printf '\033[1;31merror:\033[0m step "%s" failed: `%s` exited with status %s (%s line %s)\n' \
    "$STEP" "$command" "$status" "${source#"$ROOT"/}" "$line" >&2
}
trap 'on_error $? "$LINENO" "$BASH_COMMAND" "${BASH_SOURCE[0]:-$0}"' ERR

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FRONT_TARGET="$ROOT/target/front"
SITE="$ROOT/target/site"
# npm's binaryen (v132); Debian's v108 produces bundles that never hydrate.
WASM_OPT="$ROOT/scripts/node_modules/.bin/wasm-opt"
# Build directory of the tools `cargo install` compiles, kept so that a second
# install (another install root, a re-install) does not compile them again.
TOOLS_TARGET=${HOTSWAP_TOOLS_TARGET:-$ROOT/target/tools}

say() { STEP="$*"; printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# need COMMAND WHAT-TO-INSTALL — fail with what to install when COMMAND is missing.
need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is missing: $2"
}

# tool_version COMMAND [WORD] — word WORD (default 2) of the first line of
# `COMMAND --version`, or nothing when the command is missing or does not answer.
tool_version() {
  command -v "$1" >/dev/null 2>&1 || return 0
  { "$1" --version 2>/dev/null || true; } | awk -v word="${2:-2}" 'NR == 1 {print $word}'
}

# Where `cargo install` puts programs (honours CARGO_INSTALL_ROOT and CARGO_HOME).
cargo_bin_dir() {
  echo "${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin"
}

# The wasm-bindgen version pinned in Cargo.lock; the CLI must match it exactly.
locked_wasm_bindgen() {
  grep -A1 '^name = "wasm-bindgen"$' "$ROOT/Cargo.lock" | sed -n 's/^version = "\(.*\)"$/\1/p'
}

ensure_build_tools() {
  say "checking the build tools"
  need cargo "install Rust with rustup (https://rustup.rs), then open a new shell"
  need rustup "the wasm32 target is added with rustup: install Rust with rustup (https://rustup.rs)"
  need npm "install Node.js and npm (e.g. apt-get install nodejs npm)"
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  local want bin
  want=$(locked_wasm_bindgen)
  [ -n "$want" ] || die "no wasm-bindgen version found in $ROOT/Cargo.lock"
  bin=$(cargo_bin_dir)
  # What `cargo install` puts there must be found, even in a shell opened
  # before rustup added it to PATH.
  if [[ ":$PATH:" != *":$bin:"* ]]; then PATH="$bin:$PATH"; fi
  export PATH
  if [ "$(tool_version wasm-bindgen)" != "$want" ]; then
    say "installing wasm-bindgen-cli $want into $bin (matches Cargo.lock; takes a few minutes once)"
    # Not --locked: one of its pinned dependencies is no longer in the index.
    cargo install --quiet wasm-bindgen-cli --version "$want" --target-dir "$TOOLS_TARGET"
    [ "$(tool_version wasm-bindgen)" = "$want" ] ||
      die "wasm-bindgen $want was installed into $bin, but \`wasm-bindgen --version\` does not report it"
  fi
  if [ "$(tool_version "$WASM_OPT" 3)" != 132 ]; then
    say "installing wasm-opt (binaryen 132) from npm"
    (cd "$ROOT/scripts" && npm ci --no-audit --no-fund --loglevel=error)
    [ "$(tool_version "$WASM_OPT" 3)" = 132 ] || die "npm installed binaryen, but $WASM_OPT does not run"
  fi
}

# build_site debug|release — the WASM bundle, its JS glue and the CSS into target/site.
build_site() {
  local mode=$1 profile dir
  if [ "$mode" = release ]; then profile="wasm-release" dir="wasm-release"; else profile="dev" dir="debug"; fi
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
      "$WASM_OPT" -Oz \
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
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "this step needs root to run: $* (run as root, install sudo, or install the packages yourself)"
  fi
}

# PostgreSQL server binaries, Debian's Chromium and Prometheus (the canary
# analysis tests query a real one), from apt, when missing.
ensure_test_packages() {
  say "checking the test tools"
  need npm "install Node.js and npm (e.g. apt-get install nodejs npm)"
  need python3 "install Python 3 (e.g. apt-get install python3)"
  need curl "install curl (e.g. apt-get install curl)"
  local missing=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -x /usr/bin/prometheus ] || missing+=(prometheus)
  command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} from apt"
    need apt-get "install these packages with your system's package manager: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # `npm ls` fails when anything in package.json is missing or at another version.
  if ! (cd "$ROOT/end2end" && npm ls --depth=0 >/dev/null 2>&1); then
    say "installing Playwright, axe-core and oidc-provider from npm (no browser download: Debian's Chromium is used)"
    (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
}

postgres_bin() {
  printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1
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

# wait_for_http URL [PID LOG] — until it answers 200, for at most 60 s. Given
# the process behind it and its log, stop as soon as it exits and show the log.
wait_for_http() {
  local url=$1 pid=${2:-} log=${3:-}
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.2
  done
  if [ -n "$log" ] && [ -f "$log" ]; then
    echo "--- last lines of $(basename "$log") ---" >&2
    tail -n 40 "$log" >&2
  fi
  die "nothing answered at $url"
}
