#!/usr/bin/env bash
# compose_test.sh - the suite from compose.yaml, in containers, end to end
# (TAP; the checks are in compose_test.py).
#
#   tests/deploy/compose_test.sh [--keep]
#
# Uses ../shared/tools/compose.sh (rootful podman + podman-compose, set up on
# first use, for machines without a Docker engine) when it exists, else
# `docker compose` when a Docker engine answers; SFA_COMPOSE="CMD ..." and
# SFA_ENGINE=podman|docker override the choice. Needs ports 6343/udp,
# 6344/udp, 8008 and 9090 free on the host. Takes about 3 minutes with a
# warm image cache (see the closing "# compose test: N s" line); the first
# image build adds 3 to 6 minutes on 2 cores, and a machine without podman
# 2 to 4 more for compose.sh to install it and make the base image. Logs of
# the compose commands: tests/artifacts/compose.log.
#
# Exit status: 0 passed, 1 failed, 77 skipped. It skips, saying why, only
# when the container engine itself cannot work here (no compose tool,
# compose.sh cannot install podman, or podman cannot run a plain Debian
# container with a network and a published port: e.g. no permission for
# namespaces); everything about our image and services fails. The whole
# run is bounded by SFA_COMPOSE_TIMEOUT seconds (default 2400), and the
# project's containers and volumes are removed at the end whatever happened
# (unless --keep).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
project=sfa-e2e
keep=0
for a in "$@"; do [ "$a" = --keep ] && keep=1; done
artifacts="$root/tests/artifacts"
mkdir -p "$artifacts"
log="$artifacts/compose.log"

skip() {
    echo "1..0 # SKIP $*"
    exit 77
}

compose=${SFA_COMPOSE:-}
engine=${SFA_ENGINE:-}
if [ -z "$compose" ]; then
    if [ -f "$root/../shared/tools/compose.sh" ]; then
        compose="bash $root/../shared/tools/compose.sh"
        engine=${engine:-podman}
    elif command -v docker >/dev/null && timeout 30 docker info >/dev/null 2>&1; then
        compose="docker compose"
        engine=${engine:-docker}
    else
        skip "no compose tool: neither ../shared/tools/compose.sh nor a Docker engine"
    fi
fi
engine=${engine:-podman}

# compose.sh installs podman and podman-compose and makes the base image on
# first use; `version` does that and nothing else. A failure here is the
# machine's (packages, mirror), not ours.
echo "# setting up the compose tool ($compose)"
if ! out=$(cd "$root" && timeout 900 $compose version 2>&1); then
    printf '%s\n' "$out" | tail -15 | sed 's/^/# /'
    skip "the compose tool cannot be set up on this machine ($compose version failed)"
fi
# compose.sh configures podman through this file; direct podman calls
# (inspect, healthcheck, the sfa-gen container) need the same settings.
if [ "$engine" = podman ] && [ -f /etc/containers/compose-sh.conf ]; then
    export CONTAINERS_CONF=/etc/containers/compose-sh.conf BUILDAH_ISOLATION=chroot
fi
command -v "$engine" >/dev/null || skip "$engine is not installed"

# Can podman run containers at all? A plain Debian container (the base
# image compose.sh made, nothing of ours) on a network of its own with a
# published port, and one on the host network (as sfa-gen runs), each
# within 2 minutes. (A Docker engine that answered `docker info` is taken
# as working.)
preflight() {
    local base net out
    base=$(timeout 60 "$engine" images -q docker.io/library/debian:bookworm-slim 2>/dev/null | head -1)
    [ -n "$base" ] || { echo "no debian:bookworm-slim image to try"; return 1; }
    net="sfa-preflight-$$"
    out=$(timeout 120 "$engine" network create "$net" 2>&1) || { echo "network create: $out"; return 1; }
    out=$(timeout 120 "$engine" run --rm --network "$net" -p 127.0.0.1::9 "$base" true 2>&1) ||
        { timeout 60 "$engine" network rm -f "$net" >/dev/null 2>&1; echo "run: $out"; return 1; }
    timeout 60 "$engine" network rm -f "$net" >/dev/null 2>&1 || true
    out=$(timeout 120 "$engine" run --rm --network host "$base" true 2>&1) || { echo "run --network host: $out"; return 1; }
    return 0
}
if [ "$engine" = podman ] && ! why=$(preflight 2>&1); then
    printf '%s\n' "$why" | tail -15 | sed 's/^/# /'
    skip "$engine cannot run containers on this machine (see above); the compose test needs a working container engine"
fi

# Ports the suite publishes (compose.yaml, two-collectors.yaml, Prometheus).
busy=$(ss -Hlntu 2>/dev/null | awk '{print $1, $5}' |
    grep -E '^(udp .*:(6343|6344)|tcp .*:(8008|9090))$' || true)
if [ -n "$busy" ]; then
    echo "# ports the suite needs are taken on this host:"
    printf '%s\n' "$busy" | sed 's/^/#   /'
    ss -Hlntup 2>/dev/null | grep -E ':(6343|6344|8008|9090) ' | sed 's/^/#   /' || true
    echo "1..1"
    echo "not ok 1 - ports 6343/udp, 6344/udp, 8008 and 9090 are free"
    exit 1
fi

# Whatever compose_test.py leaves behind when it is killed (the timeout):
# the traffic generators, then the project's containers and volumes.
cleanup() {
    local ids vols
    [ "$keep" = 1 ] && return 0
    timeout 60 "$engine" rm -f "$project-gen" "$project-gen2" >/dev/null 2>&1 || true
    ids=$(timeout 60 "$engine" ps -aq --filter "label=com.docker.compose.project=$project" 2>/dev/null || true)
    vols=$(timeout 60 "$engine" volume ls -q 2>/dev/null | grep -E "^$project[_-]" || true)
    [ -z "$ids$vols" ] && return 0
    echo "# cleaning up what the run left: containers ${ids//$'\n'/ } volumes ${vols//$'\n'/ }"
    (cd "$root" && timeout 300 $compose -p "$project" -f compose.yaml \
        -f deploy/compose/two-collectors.yaml down -v >>"$log" 2>&1) || true
    ids=$(timeout 60 "$engine" ps -aq --filter "label=com.docker.compose.project=$project" 2>/dev/null || true)
    # shellcheck disable=SC2086
    [ -z "$ids" ] || timeout 120 "$engine" rm -f $ids >/dev/null 2>&1 || true
    vols=$(timeout 60 "$engine" volume ls -q 2>/dev/null | grep -E "^$project[_-]" || true)
    # shellcheck disable=SC2086
    [ -z "$vols" ] || timeout 120 "$engine" volume rm -f $vols >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

limit=${SFA_COMPOSE_TIMEOUT:-2400}
rc=0
timeout --kill-after=30 "$limit" /usr/bin/python3 "$root/tests/deploy/compose_test.py" \
    --source "$root" --compose "$compose" --engine "$engine" --project "$project" \
    --work "$artifacts" "$@" || rc=$?
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "not ok - the compose test did not finish within $limit s (SFA_COMPOSE_TIMEOUT)"
    rc=1
fi
[ "$rc" = 0 ] || rc=1
exit "$rc"
