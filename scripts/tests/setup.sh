#!/usr/bin/env bash
# The set-up path as a fresh machine meets it. A copy of the scripts runs its
# tool checks with a PATH that lacks wasm-bindgen and wasm-opt (and a rustup
# that reports no wasm32 target), a throwaway cargo install root and a
# throwaway node_modules: the tools must really be installed there and the
# script must carry on. Missing prerequisites and failing steps must say what
# failed. Then every script is linted with shellcheck.
#   scripts/tests/setup.sh          (run by scripts/test.sh)
# The snippets in single quotes are expanded by the inner shells they run in.
# shellcheck disable=SC2016
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
pass() { printf '  ok    %s\n' "$*" >&2; }
fail() { printf '  FAIL  %s\n' "$*" >&2; failures=$((failures + 1)); }
# check DESCRIPTION COMMAND... — passes when COMMAND succeeds.
check() {
  local description=$1
  shift
  if "$@"; then pass "$description"; else fail "$description"; fi
}

# A throwaway project root holding only what the tool checks read.
fake_root="$work/project"
mkdir -p "$fake_root/scripts"
cp scripts/*.sh scripts/package.json scripts/package-lock.json "$fake_root/scripts/"
cp Cargo.lock "$fake_root/"

# A PATH without wasm-bindgen or wasm-opt anywhere on it: every directory that
# holds one is dropped, and what the checks legitimately need from those
# directories (cargo, rustc, rustup, node, npm) is linked from a shim folder.
shims="$work/shims"
mkdir -p "$shims"
clean_path=""
IFS=: read -r -a dirs <<<"$PATH"
for dir in "${dirs[@]}"; do
  [ -n "$dir" ] || continue
  if [ -e "$dir/wasm-bindgen" ] || [ -e "$dir/wasm-opt" ]; then continue; fi
  clean_path="${clean_path:+$clean_path:}$dir"
done
for tool in cargo rustc node npm; do
  ln -s "$(command -v "$tool")" "$shims/$tool"
done
# rustup as on a fresh machine: wasm32 is not listed as installed, so the
# checks must add it (the real rustup then does, idempotently).
real_rustup=$(command -v rustup)
cat >"$shims/rustup" <<EOF
#!/usr/bin/env bash
if [ "\$*" = "target list --installed" ]; then
  "$real_rustup" target list --installed | grep -vx wasm32-unknown-unknown
  exit 0
fi
echo "\$*" >>"$work/rustup-calls"
exec "$real_rustup" "\$@"
EOF
chmod +x "$shims/rustup"
fresh_path="$shims:$clean_path"

say "fresh machine: missing build tools are installed and the script carries on"
out="$work/fresh.out"
if env PATH="$fresh_path" CARGO_INSTALL_ROOT="$work/cargo-root" HOTSWAP_TOOLS_TARGET="$TOOLS_TARGET" \
  bash -c 'source "$1/scripts/lib.sh"; ensure_build_tools; echo "carried on with $(command -v wasm-bindgen)"' \
  _ "$fake_root" >"$out" 2>&1; then
  pass "ensure_build_tools succeeded without the tools on PATH"
else
  fail "ensure_build_tools failed without the tools on PATH:"; sed 's/^/        /' "$out" >&2
fi
want=$(locked_wasm_bindgen)
check "the script went on, with the new wasm-bindgen on its PATH" \
  grep -qx "carried on with $work/cargo-root/bin/wasm-bindgen" "$out"
check "wasm-bindgen $want installed into the throwaway install root" \
  test "$(tool_version "$work/cargo-root/bin/wasm-bindgen")" = "$want"
check "wasm-opt (binaryen 132) installed into the throwaway node_modules" \
  test "$(tool_version "$fake_root/scripts/node_modules/.bin/wasm-opt" 3)" = 132
check "the missing wasm32 target was added" \
  grep -qsx "target add wasm32-unknown-unknown" "$work/rustup-calls"

say "an equipped machine: nothing is installed again"
if env PATH="$fresh_path:$work/cargo-root/bin" CARGO_INSTALL_ROOT="$work/cargo-root" \
  bash -c 'source "$1/scripts/lib.sh"; ensure_build_tools' _ "$fake_root" >"$out" 2>&1 &&
  ! grep -q installing "$out"; then
  pass "a second run installs nothing"
else
  fail "a second run did not pass cleanly:"; sed 's/^/        /' "$out" >&2
fi

# expect_refusal NAME PATH SNIPPET WANTED — the checks fail, saying WANTED.
expect_refusal() {
  local name=$1 path=$2 snippet=$3 wanted=$4 status=0
  env PATH="$path" bash -c "source \"\$1/scripts/lib.sh\"; $snippet" _ "$fake_root" >"$out" 2>&1 || status=$?
  if [ "$status" -ne 0 ] && grep -q -- "$wanted" "$out"; then
    pass "$name: exits $status saying \"$(grep -m1 -- "$wanted" "$out" | sed 's/\x1b\[[0-9;]*m//g')\""
  else
    fail "$name: exit status $status, expected a failure saying \"$wanted\"; it printed:"
    sed 's/^/        /' "$out" >&2
  fi
}

say "missing prerequisites and failing steps say what failed"
base="$work/base"
mkdir -p "$base"
for tool in bash env cat grep sed awk dirname mktemp; do ln -s "$(command -v "$tool")" "$base/$tool"; done
expect_refusal "no cargo" "$base" ensure_build_tools "cargo is missing: install Rust with rustup"
ln -s "$(command -v cargo)" "$base/cargo"
ln -s "$shims/rustup" "$base/rustup"
expect_refusal "no npm" "$base" ensure_build_tools "npm is missing: install Node.js and npm"
expect_refusal "a failing step" "$fresh_path" 'say "compiling the thing"; false; echo unreachable' \
  'step "compiling the thing" failed: `false` exited with status 1'
expect_refusal "a failing command in a function" "$fresh_path" \
  'f() { ls /nonexistent/dir; }; say "listing"; f' 'step "listing" failed: `ls /nonexistent/dir` exited with status 2'
expect_refusal "a failing pipeline" "$fresh_path" 'say "counting"; x=$(missing-tool --version | wc -l); echo "$x"' \
  'step "counting" failed'

say "shellcheck on every script"
mapfile -t scripts < <(git ls-files '*.sh' .ci/run)
if shellcheck -x "${scripts[@]}" >"$out" 2>&1; then
  pass "shellcheck: ${#scripts[@]} scripts clean"
else
  fail "shellcheck found problems:"; sed 's/^/        /' "$out" >&2
fi

if [ "$failures" -gt 0 ]; then die "$failures set-up check(s) failed"; fi
say "set-up checks passed"
