#!/bin/bash
# bench_gateway.sh - sfa-gateway HTTP benchmark on loopback with wrk (prints
# numbers, asserts nothing; not a test).
#
# Starts a fresh sfa-gateway (HTTP on an ephemeral 127.0.0.1 port, bus on
# ipc:// in a private temp dir) and AGGS fake aggregators
# (build/tests/integration/gateway_fake_agg) that answer activeflows with
# ENTRIES canned keys each, defines the flow, then runs:
#
#   1. /activeflows/ALL/bench/json?maxFlows=20 paced at about RATE requests/s
#      (connections each waiting CONNS*1000/RATE ms between requests:
#      Debian's wrk has no -R, so pacing is a wrk Lua delay(), calibrated) -
#      reports the achieved rate and wrk's latency percentiles (median, p99);
#      then the same with every request different (no two can share a
#      survey, so each is a full scatter/gather);
#   2. the same query unpaced (the scatter/gather ceiling);
#   3. small requests flat out: GET /version and GET /flow/bench/json with
#      MAXCONNS connections on 2 wrk threads - the most requests/s served.
#
#   tests/bench/bench_gateway.sh [BUILD_DIR] [SECONDS]
#   env: RATE (1000) CONNS (10) MAXCONNS (64) AGGS (2) ENTRIES (200)
#
# wrk is Debian's package (apt-get install wrk). The machine's other load
# shows in the numbers: run it on a quiet host.
set -u

BUILD=${1:-build}
SECS=${2:-10}
RATE=${RATE:-1000}
CONNS=${CONNS:-10}
MAXCONNS=${MAXCONNS:-64}
AGGS=${AGGS:-2}
ENTRIES=${ENTRIES:-200}
PY=/usr/bin/python3

BUILD=$(cd "$BUILD" && pwd) || exit 2
GW=$BUILD/sfa-gateway
FAKE=$BUILD/tests/integration/gateway_fake_agg
for f in "$GW" "$FAKE"; do
    [ -x "$f" ] || { echo "missing $f (build first)" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 2; }
WORK=$(mktemp -d /tmp/sfa-bench-gateway.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

# Canned answers: ENTRIES keys per aggregator, half of them shared.
for i in $(seq 1 "$AGGS"); do
    $PY - "$WORK/flows-$i.json" "$i" "$ENTRIES" <<'EOF'
import json, sys
path, agg, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = []
for k in range(n):
    key = "10.%d.%d.%d,10.9.9.%d" % (agg if k % 2 else 0, k // 250, k % 250, k % 7)
    rows.append({"key": key, "value": float((k * 7919 + agg * 13) % 100000),
                 "agent": "10.0.0.%d" % agg, "dataSource": "%d" % (k % 48), "flowN": 1})
json.dump({"bench": rows}, open(path, "w"))
EOF
done

"$GW" -Dhttp.port=0 -Dhttp.hostname=127.0.0.1 -Dsfa.state="$WORK/state" \
    -Dbus.query="ipc://$WORK/query" -Dbus.defs="ipc://$WORK/defs" \
    -Dbus.control="ipc://$WORK/control" -Dlog.level=WARNING -Dgateway.query.timeout=1000 \
    >"$WORK/gateway.log" 2>&1 &
PIDS+=($!)
GWPID=$!
# The port: WARNING level hides the "Listening" line, so ask the kernel.
PORT=""
for _ in $(seq 1 100); do
    PORT=$(ss -ltnpH 2>/dev/null | awk -v pid="pid=$GWPID," '$0 ~ pid {split($4, a, ":"); print a[length(a)]; exit}')
    [ -n "$PORT" ] && break
    sleep 0.05
done
[ -n "$PORT" ] || { echo "gateway did not start:"; cat "$WORK/gateway.log"; exit 2; }
BASE="http://127.0.0.1:$PORT"
for i in $(seq 1 "$AGGS"); do
    "$FAKE" --query "ipc://$WORK/query" --defs "ipc://$WORK/defs" --id "bench-$i" \
        --flows "$WORK/flows-$i.json" &
    PIDS+=($!)
done
curl -s -o /dev/null -X PUT -H 'Content-Type: application/json' \
    -d '{"keys":"ipsource,ipdestination","value":"bytes"}' "$BASE/flow/bench/json"
for _ in $(seq 1 100); do
    LIVE=$(curl -s "$BASE/analyzer/json" | $PY -c 'import json,sys; print(json.load(sys.stdin)["sfaAggregatorsLive"])')
    [ "$LIVE" = "$AGGS" ] && break
    sleep 0.1
done
echo "gateway on port $PORT, $LIVE live fake aggregators, $ENTRIES keys each"
ANSWER=$(curl -s "$BASE/activeflows/ALL/bench/json?maxFlows=20" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))')
echo "activeflows answer: $ANSWER entries"

# Each connection sends, waits for the answer, then sleeps DELAY ms, so it
# runs a little under 1000/DELAY requests/s. A 2-second calibration run
# measures that and adds connections until the total is about RATE.
DELAY=$((CONNS * 1000 / RATE))
cat >"$WORK/pace.lua" <<EOF
function delay()
    return $DELAY
end
EOF
CAL=$(wrk -t1 -c"$CONNS" -d2s -s "$WORK/pace.lua" "$BASE/activeflows/ALL/bench/json?maxFlows=20" |
    awk '/^Requests\/sec:/ {print $2}')
CONNS=$($PY -c "import math; print(max($CONNS, math.ceil($CONNS * $RATE / max(float('${CAL:-0}' or 1), 1.0))))")

# Print "label: N req/s, p50 X, p99 Y" from wrk --latency output.
summarise() {
    local label=$1 out=$2
    local rps p50 p99 errs
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errs=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
    printf '%-44s %10s req/s   median %-9s p99 %-9s %s\n' "$label" "$rps" "$p50" "$p99" "$errs"
}

echo
echo "== activeflows paced at ~$RATE req/s ($CONNS connections, each ${DELAY} ms between requests, ${SECS} s)"
OUT=$(wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s "$WORK/pace.lua" \
    "$BASE/activeflows/ALL/bench/json?maxFlows=20")
summarise "activeflows (paced)" "$OUT"
echo "$OUT" | sed -n '/Latency Distribution/,/99%/p'

# The same rate with every request different (a minValue too small to
# matter, different each time), so no two share a survey: the latency of
# one full scatter/gather each.
cat >"$WORK/distinct.lua" <<EOF
counter = 0
request = function()
    counter = counter + 1
    return wrk.format("GET", "/activeflows/ALL/bench/json?maxFlows=20&minValue=0.000" .. counter)
end
function delay()
    return $DELAY
end
EOF
echo
echo "== activeflows paced, every request distinct (one survey each)"
OUT=$(wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s "$WORK/distinct.lua" "$BASE")
summarise "activeflows (paced, distinct)" "$OUT"
echo "$OUT" | sed -n '/Latency Distribution/,/99%/p'

echo
echo "== flat out ($MAXCONNS connections, 2 threads, ${SECS} s each)"
OUT=$(wrk -t2 -c"$MAXCONNS" -d"${SECS}s" --latency "$BASE/activeflows/ALL/bench/json?maxFlows=20")
summarise "activeflows (unpaced)" "$OUT"
OUT=$(wrk -t2 -c"$MAXCONNS" -d"${SECS}s" --latency "$BASE/version")
summarise "GET /version" "$OUT"
OUT=$(wrk -t2 -c"$MAXCONNS" -d"${SECS}s" --latency "$BASE/flow/bench/json")
summarise "GET /flow/bench/json" "$OUT"

echo
curl -s "$BASE/sfa/v1/stats" | $PY -c '
import json, sys
g = json.load(sys.stdin)["gateway"]
print("gateway: %d requests, %d surveys (%d complete, %d timeouts), %d pending, cpu %s" % (
    g["http"]["requests"], g["survey"]["started"], g["survey"]["complete"],
    g["survey"]["timeouts"], g["http"]["pending"], "n/a"))'
ps -o pid,pcpu,rss,nlwp,cmd -p "$GWPID" | sed 's/ -D.*//'
