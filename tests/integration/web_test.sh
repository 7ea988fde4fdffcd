#!/usr/bin/env bash
# web_test.sh - set up and run web_test.js: the gateway's pages in headless
# Chromium against the whole suite replaying fabric-demo.pcap (TAP).
#
#   web_test.sh BUILD_DIR DATA_DIR WORK_DIR
#
# Needs Debian's chromium (/usr/bin/chromium; installed here with apt-get
# when missing and running as root) and node + npm: playwright-core, pinned
# by tests/integration/web/package-lock.json, is installed with `npm ci`
# into BUILD_DIR/tests/integration/web-npm (reused while the lock file is
# unchanged; nothing is written to the source tree). Playwright never
# downloads a browser: it drives /usr/bin/chromium. Skips (TAP, exit 0)
# when any of these cannot be had. Screenshots go to
# BUILD_DIR/tests/artifacts/web/.
set -uo pipefail

build=$(cd "${1:?usage: web_test.sh BUILD_DIR DATA_DIR WORK_DIR}" && pwd)
data=$(cd "${2:?}" && pwd)
work=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
chromium=/usr/bin/chromium

skip() {
    echo "1..0 # SKIP $*"
    exit 0
}

if [ ! -x "$chromium" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "# installing Debian's chromium" >&2
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends chromium; } >"$work/apt-chromium.log" 2>&1 ||
            skip "chromium is not installed and apt-get install chromium failed"
    fi
    [ -x "$chromium" ] || skip "chromium is not installed ($chromium)"
fi
command -v node >/dev/null || skip "node is not installed"
command -v npm >/dev/null || skip "npm is not installed"

npmdir="$build/tests/integration/web-npm"
mkdir -p "$npmdir" "$work"
if ! cmp -s "$here/web/package-lock.json" "$npmdir/package-lock.json" ||
    [ ! -d "$npmdir/node_modules/playwright-core" ]; then
    cp "$here/web/package.json" "$here/web/package-lock.json" "$npmdir/"
    if ! (cd "$npmdir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund \
        --loglevel=error >npm-ci.log 2>&1); then
        sed 's/^/# /' "$npmdir/npm-ci.log" | tail -20
        rm -f "$npmdir/package-lock.json"
        skip "npm ci of playwright-core failed (no registry?)"
    fi
fi

exec node "$here/web_test.js" --build "$build" --data "$data" --work "$work" \
    --npm "$npmdir" --chromium "$chromium" --artifacts "$build/tests/artifacts/web"
