#!/usr/bin/env bash
# compose_test.sh - the suite from compose.yaml, in containers, end to end
# (TAP; the checks are in compose_test.py).
#
#   tests/deploy/compose_test.sh [--keep]
#
# Uses ../shared/tools/compose.sh (rootful podman + podman-compose, set up on
# first use, for machines without a Docker engine) when it exists, else
# `docker compose` when a Docker engine answers; SFA_COMPOSE="CMD ..." and
# SFA_ENGINE=podman|docker override the choice. Needs ports 6343/udp, 6344/udp, 8008
# and 9090 free on the host. Takes about 2 minutes with a warm image cache
# (see the closing "# compose test: N s" line); the first image build adds
# 2 to 5 minutes on 2 cores. Logs of the compose commands: tests/artifacts/compose.log.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)

skip() {
    echo "1..0 # SKIP $*"
    exit 77
}

compose=${SFA_COMPOSE:-}
engine=${SFA_ENGINE:-}
if [ -z "$compose" ]; then
    if [ -x "$root/../shared/tools/compose.sh" ] || [ -f "$root/../shared/tools/compose.sh" ]; then
        compose="bash $root/../shared/tools/compose.sh"
        engine=${engine:-podman}
    elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then
        compose="docker compose"
        engine=${engine:-docker}
    else
        skip "no compose tool: neither ../shared/tools/compose.sh nor a Docker engine"
    fi
fi
engine=${engine:-podman}
# compose.sh configures podman through this file; direct podman calls
# (inspect, healthcheck, the sfa-gen container) need the same settings.
if [ "$engine" = podman ] && [ -f /etc/containers/compose-sh.conf ]; then
    export CONTAINERS_CONF=/etc/containers/compose-sh.conf BUILDAH_ISOLATION=chroot
fi
# compose.sh installs podman on first use; make sure it has before calling
# podman directly.
$compose version >/dev/null 2>&1 || true
if [ "$engine" = podman ] && [ -z "${CONTAINERS_CONF:-}" ] && [ -f /etc/containers/compose-sh.conf ]; then
    export CONTAINERS_CONF=/etc/containers/compose-sh.conf BUILDAH_ISOLATION=chroot
fi
command -v "$engine" >/dev/null || skip "$engine is not installed"

exec /usr/bin/python3 "$root/tests/deploy/compose_test.py" --source "$root" \
    --compose "$compose" --engine "$engine" "$@"
