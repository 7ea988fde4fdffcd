#!/usr/bin/env bash
# One command: install what is missing, build, and run the whole suite
# (sFlow on UDP 6343, HTTP on 8008). Extra arguments are sFlow-RT style
# properties passed to the launcher, e.g. -Dsflow.file=capture.pcap.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
if [ ! -f build/build.ninja ]; then
    meson setup build --buildtype=release
fi
ninja -C build
exec build/sfa "$@"
