#!/bin/bash
# bench_prometheus.sh - counter metrics at scale: the Prometheus exporter's
# response time and the counter samples an aggregator absorbs (prints
# numbers, asserts nothing; not a test).
#
#   1. The whole suite under the launcher (AGGS aggregators) on loopback;
#      sfa-gen sends AGENTS agents x IFACES interfaces (1,000 x 48 by
#      default), interface counters every INTERVAL s, in real time over
#      UDP. Once every interface has rates, REQS requests of
#      /prometheus/metrics/ALL/ALL/txt are timed one after the other
#      (median, min, max, size, series), then a few smaller queries for
#      comparison.
#   2. Counter samples/s absorbed per aggregator: sfa-gen writes the same
#      kind of traffic to a pcap; one collector replays it as fast as it
#      can, in a loop, into ONE aggregator. Over SECS seconds: samples the
#      collector published, samples the aggregator absorbed
#      (counter_samples), bus gaps (published but lost), and the
#      aggregator's CPU time, hence samples per aggregator CPU-second.
#
#   tests/bench/bench_prometheus.sh [BUILD_DIR]
#   env: AGENTS (1000) IFACES (48) INTERVAL (10) AGGS (2) REQS (11) SECS (10)
#
# The machine's other load shows in the numbers: run it on a quiet host.
set -u

BUILD=${1:-build}
AGENTS=${AGENTS:-1000}
IFACES=${IFACES:-48}
INTERVAL=${INTERVAL:-10}
AGGS=${AGGS:-2}
REQS=${REQS:-11}
SECS=${SECS:-10}
PY=/usr/bin/python3

BUILD=$(cd "$BUILD" && pwd) || exit 2
for f in sfa sfa-gen sfa-collector sfa-aggregator sfa-gateway; do
    [ -x "$BUILD/$f" ] || { echo "missing $BUILD/$f (build first)" >&2; exit 2; }
done
WORK=$(mktemp -d /tmp/sfa-bench-prometheus.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { # $1 = tcp|udp
    $PY -c "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if '$1' == 'tcp' else socket.SOCK_DGRAM); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
}

# Print a JSON member path ("a.b") of stdin, or "" (a tiny jq).
json_get() {
    $PY -c "
import json, sys
try:
    v = json.load(sys.stdin)
    for k in sys.argv[1].split('.'):
        v = v[int(k)] if isinstance(v, list) else v[k]
    print(v)
except Exception:
    print('')" "$1"
}

wait_for() { # $1 = seconds, $2... = command that succeeds when ready
    local end=$((SECONDS + $1))
    shift
    while [ $SECONDS -lt $end ]; do
        "$@" && return 0
        sleep 1
    done
    return 1
}

# ---- 1. Prometheus ALL/ALL ----

HTTP=$(free_port tcp)
UDP=$(free_port udp)
BASE="http://127.0.0.1:$HTTP"
"$BUILD/sfa" -Dsfa.aggregators="$AGGS" -Dsflow.port="$UDP" -Dhttp.port="$HTTP" \
    -Dhttp.hostname=127.0.0.1 -Dsfa.rundir="$WORK/run" -Dsfa.state="$WORK/state" \
    -Dlog.level=WARNING >"$WORK/sfa.log" 2>&1 &
PIDS+=($!)
SFA=$!
all_live() {
    [ "$(curl -s "$BASE/analyzer/json" | json_get sfaAggregatorsLive)" = "$AGGS" ]
}
wait_for 30 all_live || { echo "the suite did not start:"; tail "$WORK/sfa.log"; exit 2; }
"$BUILD/sfa-gen" --target "127.0.0.1:$UDP" --agents "$AGENTS" --ifaces "$IFACES" --flows 1 \
    --rate-pps 1k --counters --counter-interval "$INTERVAL" --duration 3600 --quiet \
    >"$WORK/gen.log" 2>&1 &
PIDS+=($!)
TOTAL=$((AGENTS * IFACES))
count_of() { # metricN of max:<metric> over ALL
    curl -s "$BASE/metric/ALL/max:$1/json" | json_get 0.metricN
}
have_rates() {
    [ "$(count_of ifindex)" = "$TOTAL" ] && [ "$(count_of ifinoctets)" = "$TOTAL" ]
}
echo "== $AGENTS agents x $IFACES interfaces, counters every $INTERVAL s, $AGGS aggregators"
if ! wait_for $((4 * INTERVAL + 60)) have_rates; then
    echo "not every interface has rates: ifindex $(count_of ifindex), ifinoctets $(count_of ifinoctets) of $TOTAL"
fi
echo "interfaces with rates: $(count_of ifinoctets) of $TOTAL"

time_get() { # $1 = path -> "seconds bytes status"
    curl -s -o "$WORK/body" -w '%{time_total} %{size_download} %{http_code}\n' "$BASE$1"
}
median() {
    sort -n | awk '{v[NR] = $1} END {if (NR) printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
bench_path() { # $1 = label, $2 = path, $3 = requests
    local times=() out t bytes code
    for _ in $(seq 1 "$3"); do
        out=$(time_get "$2")
        read -r t bytes code <<<"$out"
        [ "$code" = 200 ] || echo "  status $code"
        times+=("$t")
    done
    printf '%-44s median %ss  min %ss  max %ss  (%d requests, %s bytes' "$1" \
        "$(printf '%s\n' "${times[@]}" | median)" \
        "$(printf '%s\n' "${times[@]}" | sort -n | head -1)" \
        "$(printf '%s\n' "${times[@]}" | sort -n | tail -1)" "$3" "$bytes"
    if [ "${2#/prometheus}" != "$2" ]; then
        printf ', %s series)\n' "$(grep -vc '^#' "$WORK/body")"
    else
        printf ')\n'
    fi
}
bench_path "/prometheus/metrics/ALL/ALL/txt" "/prometheus/metrics/ALL/ALL/txt" "$REQS"
bench_path "/prometheus/metrics/ALL/ifinoctets,ifoutoctets/txt" \
    "/prometheus/metrics/ALL/ifinoctets,ifoutoctets/txt" 5
bench_path "/dump/ALL/ifinoctets/json" "/dump/ALL/ifinoctets/json" 5
bench_path "/metric/ALL/sum:ifinoctets,med:ifinoctets/json" \
    "/metric/ALL/sum:ifinoctets,med:ifinoctets/json" 5
bench_path "/table/ALL/sort:ifinoctets:-10,ifspeed/json" \
    "/table/ALL/sort:ifinoctets:-10,ifspeed/json" 5
curl -s "$BASE/analyzer/json" | $PY -c '
import json, sys
a = json.load(sys.stdin)
print("gateway: %d surveys, %d timeouts, %d answers missing" % (
    a["sfaQueries"], a["sfaQueryTimeouts"], a["sfaQueryAnswersMissing"]))'
kill "$SFA" 2>/dev/null
wait "$SFA" 2>/dev/null

# ---- 2. counter samples absorbed by one aggregator ----

echo
echo "== counter samples/s absorbed by one aggregator (pcap replayed flat out, ${SECS} s)"
"$BUILD/sfa-gen" --agents "$AGENTS" --ifaces "$IFACES" --flows 1 --rate-pps 1k --counters \
    --counter-interval "$INTERVAL" --duration $((2 * INTERVAL)) --pcap "$WORK/ctr.pcap" --quiet
HTTP=$(free_port tcp)
BASE="http://127.0.0.1:$HTTP"
"$BUILD/sfa" -Dsfa.aggregators=1 -Dsfa.events=no -Dsflow.file="$WORK/ctr.pcap" \
    -Dsflow.file.fast=yes -Dsflow.file.loop=yes -Dsflow.file.wait=20 -Dsflow.port=0 \
    -Dhttp.port="$HTTP" -Dhttp.hostname=127.0.0.1 -Dsfa.rundir="$WORK/run2" \
    -Dsfa.state="$WORK/state2" -Dlog.level=WARNING >"$WORK/sfa2.log" 2>&1 &
PIDS+=($!)
SFA=$!
AGGS=1
wait_for 30 all_live || { echo "the suite did not start:"; tail "$WORK/sfa2.log"; exit 2; }
sleep 3
AGGPID=$(pgrep -P "$SFA" -f sfa-aggregator | head -1)
snapshot() { # -> "collector_samples aggregator_samples bus_gaps"
    curl -s "$BASE/sfa/v1/stats" | $PY -c '
import json, sys
d = json.load(sys.stdin)
col = agg = gaps = 0
for v in d.values():
    if not isinstance(v, dict):
        continue
    c = v.get("counters", {})
    if v.get("service") == "collector":
        col += c.get("decode_counter_samples", 0) + c.get("decode_expanded_counter_samples", 0)
    elif v.get("service") == "aggregator":
        agg += c.get("counter_samples", 0)
        gaps += c.get("bus_gaps", 0)
print(col, agg, gaps)'
}
read -r C0 A0 G0 <<<"$(snapshot)"
T0=$(awk '{print $14 + $15}' "/proc/$AGGPID/stat")
sleep "$SECS"
read -r C1 A1 G1 <<<"$(snapshot)"
T1=$(awk '{print $14 + $15}' "/proc/$AGGPID/stat")
HZ=$(getconf CLK_TCK)
$PY - "$C0" "$C1" "$A0" "$A1" "$G0" "$G1" "$T0" "$T1" "$HZ" "$SECS" <<'EOF'
import sys
c0, c1, a0, a1, g0, g1, t0, t1, hz, secs = map(float, sys.argv[1:])
cpu = (t1 - t0) / hz
print("collector published %.0f counter samples/s" % ((c1 - c0) / secs))
print("aggregator absorbed %.0f counter samples/s (bus messages lost: %.0f)" % ((a1 - a0) / secs, g1 - g0))
print("aggregator CPU %.2f s in %.0f s: %.0f counter samples per aggregator CPU-second"
      % (cpu, secs, (a1 - a0) / cpu if cpu > 0 else 0))
EOF
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
