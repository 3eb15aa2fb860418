#!/usr/bin/env bash
# Installs what the real-VS-Code tests (test/e2e) need, and caches it. Idempotent: every step checks
# whether its work is already done and skips it. Runs OUTSIDE the test network namespace (it needs the
# Debian and npm registries); nothing here starts code-server or Chromium.
#
#   apt packages   chromium (the browser Playwright drives), ripgrep (code-server's postinstall wants an rg
#                  binary; we hand it Debian's), libkrb5-dev + build-essential + python3 (node-gyp builds of
#                  code-server's native modules, e.g. kerberos), iproute2 + util-linux (`ip`, `unshare` for
#                  scripts/isolated.mjs). curl is not needed: the runner polls /healthz with Node's fetch.
#   code-server    4.100.3 (VS Code 1.100.3, the last release that runs on Node 20) into
#                  $TONK_VSCODE_CACHE (default $HOME/.cache/tonk-p2p/code-server)/cs
#
# Usage: bash scripts/install-vscode-test-deps.sh     (or: npm run test:e2e:install)
# Env:   TONK_VSCODE_CACHE   cache folder (default $HOME/.cache/tonk-p2p/code-server)
#        TONK_SKIP_APT=1     do not touch apt (packages installed some other way)
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
CACHE="${TONK_VSCODE_CACHE:-$HOME/.cache/tonk-p2p/code-server}"
APT_PACKAGES=(chromium ripgrep libkrb5-dev build-essential python3 iproute2 util-linux)
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

die() { echo "install-vscode-test-deps: ERROR: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }
T_ALL=$(now_ms)
step_start() { T_STEP=$(now_ms); echo "==> $*"; }
step_end() { echo "    done in $(( ($(now_ms) - T_STEP) ))ms${1:+ ($1)}"; }

# ---------------------------------------------------------------- 1. apt packages
step_start "apt packages: ${APT_PACKAGES[*]}"
if [[ "${TONK_SKIP_APT:-}" == 1 ]]; then
  step_end "skipped: TONK_SKIP_APT=1"
else
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    step_end "all installed, skipped"
  else
    echo "    missing: ${missing[*]}"
    SUDO=()
    if [[ $(id -u) != 0 ]]; then
      command -v sudo >/dev/null || die "need root or sudo to apt-get install ${missing[*]}"
      SUDO=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -qq || die "apt-get update failed (is the Debian mirror reachable?)"
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || die "apt-get install ${missing[*]} failed"
    step_end "installed ${missing[*]}"
  fi
fi
[[ -x /usr/bin/chromium ]] || die "/usr/bin/chromium is missing (Debian package chromium)"
command -v rg >/dev/null || die "rg (ripgrep) is missing"
command -v unshare >/dev/null || die "unshare (util-linux) is missing"
command -v ip >/dev/null || die "ip (iproute2) is missing"
echo "    $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium: version unknown')"

# ---------------------------------------------------------------- 2. code-server
CS_PREFIX="$CACHE/cs"
CS_PKG="$CS_PREFIX/node_modules/code-server"
CS_BIN="$CS_PREFIX/node_modules/.bin/code-server"
CS_RG="$CS_PKG/lib/vscode/node_modules/@vscode/ripgrep/bin/rg"
installed_version() { node -p "require('$CS_PKG/package.json').version" 2>/dev/null || true; }

step_start "code-server $CODE_SERVER_VERSION in $CS_PREFIX"
if [[ -x "$CS_BIN" && -x "$CS_RG" && "$(installed_version)" == "$CODE_SERVER_VERSION" ]]; then
  step_end "already installed, skipped"
else
  have="$(installed_version)"
  [[ -n "$have" ]] && echo "    found version '${have}' or an incomplete install; reinstalling"
  command -v npm >/dev/null || die "npm is missing"
  rm -rf "$CS_PREFIX" "$CACHE/tmp" "$CACHE/rg"
  mkdir -p "$CS_PREFIX" "$CACHE/tmp" "$CACHE/rg"
  # code-server's postinstall (@vscode/ripgrep) downloads rg from GitHub, which is unreachable here. It
  # first looks in $TMPDIR/vscode-ripgrep-cache-<ver>/: pre-seed that with Debian's rg.
  RG_CACHE="$CACHE/tmp/vscode-ripgrep-cache-1.15.11"
  mkdir -p "$RG_CACHE"
  cp "$(command -v rg)" "$CACHE/rg/rg"
  tar czf "$RG_CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$CACHE/rg" rg
  nodedir=()
  [[ -f /usr/include/node/node_version.h ]] && nodedir=(npm_config_nodedir=/usr)   # headers without a download
  log="$CACHE/npm-install.log"
  if ! env TMPDIR="$CACHE/tmp" npm_config_yes=true "${nodedir[@]}" npm_config_update_notifier=false \
      npm_config_fund=false npm_config_audit=false \
      npm install --unsafe-perm --prefix "$CS_PREFIX" "code-server@$CODE_SERVER_VERSION" >"$log" 2>&1; then
    tail -30 "$log" >&2
    die "npm install code-server@$CODE_SERVER_VERSION failed; full log: $log"
  fi
  [[ -x "$CS_BIN" ]] || die "code-server binary missing after install: $CS_BIN (log: $log)"
  [[ -x "$CS_RG" ]] || die "postinstall did not place ripgrep at $CS_RG (log: $log)"
  [[ "$(installed_version)" == "$CODE_SERVER_VERSION" ]] || die "installed version is '$(installed_version)', expected $CODE_SERVER_VERSION"
  rm -rf "$CACHE/tmp" "$CACHE/rg"
  step_end "installed"
fi
echo "    code-server $(installed_version) (VS Code $(node -p "require('$CS_PKG/lib/vscode/package.json').version" 2>/dev/null || echo '?'))"

# ---------------------------------------------------------------- 3. project devDependencies
step_start "project devDependencies (playwright-core, mocha, @vscode/test-electron)"
for m in playwright-core mocha @vscode/test-electron; do
  [[ -f "$ROOT/node_modules/$m/package.json" ]] || die "$m is not installed in $ROOT/node_modules: run npm ci"
done
step_end "present"

echo "install-vscode-test-deps: ready in $(( ($(now_ms) - T_ALL) ))ms; code-server: $CS_BIN"
