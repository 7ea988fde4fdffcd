#!/usr/bin/env bash
# k8s_validate.sh - offline validation of deploy/kubernetes/ and compose.yaml
# (TAP, from k8s_validate.mjs).
#
#   tests/deploy/k8s_validate.sh SOURCE_ROOT [BUILD_DIR]
#
# Installs the pinned npm packages of tests/deploy/package-lock.json with
# `npm ci` into BUILD_DIR/tests/deploy/npm (nothing is written to the source
# tree; the install is reused while the lock file is unchanged), then runs
# the checks with no network and no cluster. BUILD_DIR also supplies the
# binaries whose --help lists their properties. Skips (exit 77) when node
# or npm is missing or the packages cannot be installed.
set -euo pipefail

src=$(cd "${1:?usage: k8s_validate.sh SOURCE_ROOT [BUILD_DIR]}" && pwd)
build=${2:-}
here="$src/tests/deploy"

skip() {
    echo "1..0 # SKIP $*"
    exit 77
}

command -v node >/dev/null || skip "node is not installed"
command -v npm >/dev/null || skip "npm is not installed"

if [ -n "$build" ]; then
    npmdir="$(cd "$build" && pwd)/tests/deploy/npm"
else
    npmdir="${TMPDIR:-/tmp}/sfa-k8s-validate-$(id -u)"
fi
mkdir -p "$npmdir"
if ! cmp -s "$here/package-lock.json" "$npmdir/package-lock.json" || [ ! -d "$npmdir/node_modules" ]; then
    cp "$here/package.json" "$here/package-lock.json" "$npmdir/"
    if ! (cd "$npmdir" && npm ci --no-audit --no-fund --loglevel=error >npm-ci.log 2>&1); then
        sed 's/^/# /' "$npmdir/npm-ci.log" | tail -20
        rm -f "$npmdir/package-lock.json"
        skip "npm ci failed (no registry?)"
    fi
fi

# The script resolves its imports from the installed packages.
cp "$here/k8s_validate.mjs" "$npmdir/k8s_validate.mjs"
exec node "$npmdir/k8s_validate.mjs" --source "$src" ${build:+--bindir "$(cd "$build" && pwd)"}
