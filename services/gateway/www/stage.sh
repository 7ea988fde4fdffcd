#!/bin/sh
# stage.sh - put the gateway's web pages where the gateway serves them.
#
#   stage.sh stage SRC OUT NPMDIR STAMP   (the build: a meson custom_target)
#   stage.sh install OUT DATADIR          (meson install: OUT -> DATADIR/sfa/www)
#
# stage copies SRC/html and SRC/app into OUT, then installs the chart
# library pinned by SRC/package-lock.json with `npm ci` into NPMDIR (only
# when the lock file changed since the last install) and copies its
# browser build and licence into OUT/html/lib/uplot/. Nothing third-party
# enters the source tree. Without npm, or when the install fails (no
# registry), or with SFA_WWW_NO_NPM=1, the pages are staged without the
# library: they then show their tables and say that the chart is missing.
# The build never fails for the chart's sake. STAMP records what was done.
set -eu

mode=${1:?usage: stage.sh stage SRC OUT NPMDIR STAMP | install OUT DATADIR}

if [ "$mode" = install ]; then
    out=$2
    dest="${MESON_INSTALL_DESTDIR_PREFIX:?run by meson install}/$3/sfa/www"
    rm -rf "$dest"
    mkdir -p "$dest"
    cp -R "$out/html" "$out/app" "$dest/"
    exit 0
fi

src=$2 out=$3 npmdir=$4 stamp=$5
rm -rf "$out/html" "$out/app"
mkdir -p "$out"
cp -R "$src/html" "$src/app" "$out/"

lib_status="absent"
if [ "${SFA_WWW_NO_NPM:-0}" = 1 ]; then
    lib_status="skipped (SFA_WWW_NO_NPM=1)"
elif ! command -v npm >/dev/null 2>&1; then
    lib_status="skipped (npm is not installed)"
else
    mkdir -p "$npmdir"
    if ! cmp -s "$src/package-lock.json" "$npmdir/package-lock.json" ||
        [ ! -d "$npmdir/node_modules/uplot" ]; then
        cp "$src/package.json" "$src/package-lock.json" "$npmdir/"
        if ! (cd "$npmdir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error \
            >npm-ci.log 2>&1); then
            rm -f "$npmdir/package-lock.json"
            lib_status="npm ci failed (see $npmdir/npm-ci.log)"
        fi
    fi
fi
dist="$npmdir/node_modules/uplot/dist"
if [ -f "$dist/uPlot.iife.min.js" ] && [ -f "$dist/uPlot.min.css" ] &&
    [ -f "$npmdir/package-lock.json" ]; then
    mkdir -p "$out/html/lib/uplot"
    cp "$dist/uPlot.iife.min.js" "$dist/uPlot.min.css" "$out/html/lib/uplot/"
    cp "$npmdir/node_modules/uplot/LICENSE" "$out/html/lib/uplot/LICENSE"
    lib_status="uplot $(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' \
        "$npmdir/node_modules/uplot/package.json" | head -1)"
else
    echo "stage.sh: the chart library is not available ($lib_status):" \
        "the web pages will show tables only" >&2
fi
echo "chart library: $lib_status" >"$stamp"
