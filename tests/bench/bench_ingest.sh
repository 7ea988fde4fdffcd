#!/bin/bash
# bench_ingest.sh - collector ingest benchmark on loopback (prints numbers,
# asserts nothing; not a test).
#
# For each rate, a fresh sfa-collector (UDP on an ephemeral loopback port,
# bus on ipc:// in a private temp dir), a counting subscriber on every lane
# (collector_sub --count-only) and sfa-gen sending R datagrams/s of K flow
# samples each for D seconds. Reported per rate: datagrams sent (and the
# rate sfa-gen achieved), received by the socket, kernel drops (SO_RXQ_OVFL /
# SO_MEMINFO), drops before the socket (softnet backlog, whole host),
# decoded, datagrams seen on the bus, bus sequence gaps, bus
# send failures, datagrams per bus message, CPU use of the collector (% of
# one core: all threads, and the loop thread alone; CPU microseconds per
# datagram, all threads) and of sfa-gen,
# and with MALLOC=1 the heap allocations per datagram during the traffic
# window (build/tests/bench/libmalloc_count.so preloaded; SIGUSR2 snapshots).
# "lossless" means every datagram sent came out on the bus with no gap.
#
#   tests/bench/bench_ingest.sh [BUILD_DIR] [RATES] [SECONDS] [SAMPLES]
#   defaults: build 100000,200000,300000 10 6;  MALLOC=1 to count allocations;
#   COLPROPS="-Dbus.batch.bytes=262144 ..." adds collector properties
set -u

BUILD=${1:-build}
RATES=${2:-100000,200000,300000}
SECS=${3:-10}
SPD=${4:-6}
AGENTS=${AGENTS:-8}
LANES=${LANES:-4}
PY=/usr/bin/python3

BUILD=$(cd "$BUILD" && pwd) || exit 2
COL=$BUILD/sfa-collector
GEN=$BUILD/sfa-gen
SUB=$BUILD/tests/integration/collector_sub
SHIM=$BUILD/tests/bench/libmalloc_count.so
for f in "$COL" "$GEN" "$SUB"; do
    [ -x "$f" ] || { echo "missing $f (build first)" >&2; exit 2; }
done
TCK=$(getconf CLK_TCK)
WORK=$(mktemp -d /tmp/sfa-bench-ingest.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# utime+stime of a process (all threads) in clock ticks
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# ... of its main thread only (the libuv loop: receive, decode, publish)
main_ticks() { awk '{print $14 + $15}' "/proc/$1/task/$1/stat" 2>/dev/null || echo 0; }

# packets the kernel dropped before any socket (backlog full), all CPUs
softnet_drops() { $PY -c 'import sys
print(sum(int(l.split()[1], 16) for l in open("/proc/net/softnet_stat")))'; }

# total= field of the last malloc_count line in a log
malloc_total() { grep -o 'total=[0-9]*' "$1" | tail -1 | cut -d= -f2; }

printf '%-7s %8s %7s %8s %7s %6s %8s %8s %5s %5s %6s %5s %5s %5s %5s %9s %10s %s\n' rate sent gen/s \
    received kdrops ndrops decoded on_bus gaps sfail dg/msg col% loop% us/dg gen% allocs/dg allocs/msg result
best=0
IFS=, read -ra rate_list <<< "$RATES"
for rate in "${rate_list[@]}"; do
    dir=$WORK/r$rate
    mkdir -p "$dir"
    samples=ipc://$dir/samples
    control=ipc://$dir/control
    pre=()
    [ "${MALLOC:-0}" = 1 ] && pre=(env LD_PRELOAD="$SHIM")
    "${pre[@]}" "$COL" -Dsflow.port=0 -Dsflow.hostname=127.0.0.1 -Dbus.samples="$samples" \
        -Dbus.control="$control" -Dbus.lanes="$LANES" -Dstats.interval=0.5 \
        -Dcollector.id=bench ${COLPROPS:-} 2> "$dir/col.log" &
    cpid=$!
    port=
    for _ in $(seq 100); do
        port=$(grep -o 'Listening, sFlow port [0-9]*' "$dir/col.log" | awk '{print $4}')
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || { echo "collector did not start:"; cat "$dir/col.log"; exit 1; }
    # --count 0: never done early; it reports when stopped, after the drain.
    "$SUB" --samples "$samples" --lanes "$LANES" --control "$control" --count 0 \
        --timeout $((SECS * 3 + 20)) --count-only > "$dir/sub.out" &
    spid=$!
    for _ in $(seq 200); do grep -q READY "$dir/sub.out" && break; sleep 0.05; done
    sleep 1 # let the first stats go by
    [ "${MALLOC:-0}" = 1 ] && kill -USR2 "$cpid" && sleep 0.1
    c0=$(cpu_ticks "$cpid")
    l0=$(main_ticks "$cpid")
    n0=$(softnet_drops)
    t0=$(date +%s.%N)
    "$GEN" --target "127.0.0.1:$port" --agents "$AGENTS" --samples-per-datagram "$SPD" \
        --dgram-rate "$rate" --duration "$SECS" 2> "$dir/gen.log" &
    gpid=$!
    g0=$(cpu_ticks "$gpid")
    g1=$g0
    while kill -0 "$gpid" 2>/dev/null; do
        g=$(cpu_ticks "$gpid")
        [ "$g" -gt 0 ] && g1=$g
        sleep 0.2
    done
    wait "$gpid"
    t1=$(date +%s.%N)
    # Drained when the collector stops using CPU (at most 20 s more).
    prev=-1
    for _ in $(seq 40); do
        sleep 0.5
        cur=$(cpu_ticks "$cpid")
        [ $((cur - prev)) -le 2 ] && break
        prev=$cur
    done
    sleep 0.6 # one more stats.v1
    c1=$(cpu_ticks "$cpid")
    l1=$(main_ticks "$cpid")
    n1=$(softnet_drops)
    t2=$(date +%s.%N)
    if [ "${MALLOC:-0}" = 1 ]; then
        m0=$(malloc_total "$dir/col.log")
        kill -USR2 "$cpid"
        sleep 0.1
        m1=$(malloc_total "$dir/col.log")
    fi
    kill -TERM "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    # The subscriber printed its summary on timeout or count; ask for it if not.
    kill -TERM "$cpid"
    wait "$cpid"
    sent=$(grep -o 'sent [0-9]* datagrams' "$dir/gen.log" | awk '{print $2}')
    $PY - "$dir/sub.out" "$rate" "${sent:-0}" "$t0" "$t1" "$c0" "$c1" "$g0" "$g1" "$TCK" \
        "${m0:-}" "${m1:-}" "$t2" $((n1 - n0)) $((l1 - l0)) <<'EOF'
import json, sys
path, rate, sent, t0, t1, c0, c1, g0, g1, tck = sys.argv[1:11]
m0, m1, t2, nd, loop = sys.argv[11], sys.argv[12], sys.argv[13], int(sys.argv[14]), int(sys.argv[15])
lines = [l for l in open(path).read().splitlines() if l.startswith("{")]
res = json.loads(lines[-1]) if lines else {}
st = res.get("stats") or {}
wall = float(t2) - float(t0)
sent = int(sent)
col = 100.0 * (int(c1) - int(c0)) / int(tck) / wall
loop_pct = 100.0 * loop / int(tck) / wall
gen = 100.0 * (int(g1) - int(g0)) / int(tck) / (float(t1) - float(t0))
rx = st.get("udp_rx_datagrams", 0)
kd = st.get("udp_kernel_drops", 0)
on_bus = res.get("distinct", 0)
gaps = res.get("gaps", 0) + res.get("first_not_one", 0)
sfail = st.get("bus_send_failed", 0)
msgs = st.get("bus_msgs", 0)
allocs = allocs_msg = "-"
if m0 and m1 and rx and msgs:
    allocs = "%.3f" % ((int(m1) - int(m0)) / rx)
    allocs_msg = "%.2f" % ((int(m1) - int(m0)) / msgs)
ok = sent > 0 and kd == 0 and nd == 0 and gaps == 0 and on_bus == sent and sfail == 0
us_dg = 1e6 * (int(c1) - int(c0)) / int(tck) / rx if rx else 0
print("%-7s %8d %7.0f %8d %7d %6d %8d %8d %5d %5d %6.1f %5.0f %5.0f %5.2f %5.0f %9s %10s %s" % (
    rate, sent, sent / (float(t1) - float(t0)), rx, kd, nd, st.get("decode_ok", 0), on_bus, gaps,
    sfail, rx / msgs if msgs else 0, col, loop_pct, us_dg, gen, allocs, allocs_msg,
    "lossless" if ok else "LOSS"))
sys.exit(0 if ok else 3)
EOF
    [ $? -eq 0 ] && best=$rate
done
echo "highest lossless rate: $best datagrams/s ($SPD samples each, $AGENTS agents, $LANES lanes)"
