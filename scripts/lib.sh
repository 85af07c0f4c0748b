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
