#!/usr/bin/env bash
# The analytics SDKs of the producer's compatibility suite (services/producer/sdk_compat_test.go):
# the npm packages pinned in services/producer/testdata/sdk/package-lock.json, installed with
# `npm ci` into the cache (never into the repository), and Debian's chromium for the browser SDKs.
# The Python SDKs are pinned in scripts/pyenv.sh.
#
# Usage: eval "$(bash scripts/sdkenv.sh)"   -> exports SDK_NODE_MODULES and SDK_CHROMIUM
#
#   CONSENTFLOW_CACHE   cache dir (default ~/.cache/consentflow); packages go to $CONSENTFLOW_CACHE/sdk-node/<lock hash>
#
# Idempotent: an installed lock (a stamp file) or an installed chromium is only checked (well
# under a second). Progress goes to stderr, the export lines alone to stdout.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${CONSENTFLOW_CACHE:-$HOME/.cache/consentflow}
SRC=$ROOT/services/producer/testdata/sdk

log() { printf 'sdkenv: %s\n' "$*" >&2; }
die() { printf 'sdkenv: ERROR: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null 2>&1 || die "node not found (apt-get install -y nodejs npm)"
command -v npm >/dev/null 2>&1 || die "npm not found (apt-get install -y npm)"

hash=$(cat "$SRC/package.json" "$SRC/package-lock.json" | sha256sum | cut -c1-16)
dir=$CACHE/sdk-node/$hash
if [[ ! -f $dir/.installed ]]; then
    t0=$(date +%s)
    log "installing the SDKs of $SRC/package-lock.json into $dir (log: $dir.log)"
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$SRC/package.json" "$SRC/package-lock.json" "$dir/"
    # --ignore-scripts: nothing here needs an install script, and puppeteer-core never downloads a browser.
    if ! (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund) >"$dir.log" 2>&1; then
        tail -n 20 "$dir.log" >&2
        die "npm ci failed (the npm registry must be reachable; full log: $dir.log)"
    fi
    touch "$dir/.installed"
    log "SDKs installed in $(($(date +%s) - t0))s"
fi

chromium=${SDK_CHROMIUM:-}
if [[ -z $chromium ]]; then
    chromium=$(command -v chromium || true)
fi
if [[ -z $chromium ]]; then
    command -v apt-get >/dev/null 2>&1 || die "chromium not found and no apt-get to install it"
    sudo=()
    if [[ $(id -u) != 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "chromium not found; install it as root: apt-get install -y chromium"
        sudo=(sudo -n)
    fi
    t0=$(date +%s)
    log "installing Debian's chromium (log: $CACHE/sdkenv-apt.log)"
    mkdir -p "$CACHE"
    if ! { "${sudo[@]}" apt-get update -q && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q chromium; } >"$CACHE/sdkenv-apt.log" 2>&1; then
        tail -n 15 "$CACHE/sdkenv-apt.log" >&2
        die "apt-get install chromium failed (full log: $CACHE/sdkenv-apt.log)"
    fi
    chromium=$(command -v chromium) || die "chromium installed but not on PATH"
    log "chromium installed in $(($(date +%s) - t0))s"
fi

echo "export SDK_NODE_MODULES=$dir/node_modules"
echo "export SDK_CHROMIUM=$chromium"
