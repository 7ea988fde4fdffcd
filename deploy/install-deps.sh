#!/usr/bin/env bash
# Install the Debian 12 packages sfa needs, only those that are missing.
#   deploy/install-deps.sh          build and run dependencies
#   deploy/install-deps.sh --test   plus what the test suite and benchmarks use
set -euo pipefail

pkgs=(build-essential pkg-config meson ninja-build
      libuv1-dev libnng-dev libmsgpack-dev libjansson-dev libh2o-dev libssl-dev zlib1g-dev
      libpcap-dev duktape-dev)
if [ "${1:-}" = "--test" ]; then
    pkgs+=(clang clang-format libclang-rt-14-dev python3 python3-msgpack python3-requests
           libnanomsg-raw-perl libdata-messagepack-perl perl iproute2 procps)
    # The browser test of the web pages (tests/integration/web_test.sh);
    # node and npm are the machine's; without them that test skips.
    pkgs+=(chromium)
    # promtool and a real Prometheus server for the exporter's tests
    # (tests/integration/metrics_test.py) and the Prometheus benchmark.
    pkgs+=(prometheus)
    # pmacctd (plugin sfprobe), a third-party sFlow agent for
    # tests/integration/pmacct_sfprobe_test.py.
    pkgs+=(pmacct)
fi

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "installing: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
