#!/usr/bin/env bash
# subscribers_test.sh - the bus readers in other languages (proto/subscribers/:
# Python with ctypes on libnng, Perl with NanoMsg::Raw) against a live
# sfa-collector replaying captures with two sample lanes.
#
# Each run starts one collector with sflow.file.wait, so the replay begins
# only once the subscriber is connected to both lanes and to bus.control
# (pub/sub loses what is sent before that), then one subscriber that stops
# after --timeout seconds without a sample. The expected values come from
# tests/data/*.expected.json (top_ip_pairs, sample counts, last counters);
# the two languages must also print exactly the same sample lines.
#
#   1. akvorado-data-1140.pcap, ipc://, paced: the 5 flow samples
#   2. fabric-demo.pcap (4 agents on both lanes), ipc://, fast
#   3. fabric-demo.pcap, tcp:// lanes (port + lane), fast, --count
#
# Usage: subscribers_test.sh SFA_COLLECTOR DATA_DIR SUBSCRIBERS_DIR WORKDIR
# (TAP on stdout). A language is skipped when its Debian packages are
# missing (deploy/install-deps.sh --test installs them).
set -u

COL=$1
DATA=$2
SUBS=$3
WORK=$4/subscribers-$$
PY=/usr/bin/python3
IDLE=5  # subscriber --timeout: seconds without a sample before it stops
n=0
failed=0

ok() {
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
skip() { n=$((n + 1)); echo "ok $n # SKIP $*"; }
has() { grep -qF -- "$2" "$1" 2>/dev/null; }
wait_for() {
    local end=$((SECONDS + $3))
    while [ $SECONDS -le "$end" ]; do
        has "$1" "$2" && return 0
        sleep 0.05
    done
    return 1
}

# Free TCP ports on 127.0.0.1: "BASE CONTROL" where BASE and BASE+1 are free
# (lane 1 listens on BASE+1). They are released again before the collector
# binds them; nothing else on this host should grab them in between.
free_ports() {
    $PY - <<'EOF'
import socket
def bind(port):
    s = socket.socket()
    s.bind(("127.0.0.1", port))
    return s
while True:
    a = bind(0)
    try:
        b = bind(a.getsockname()[1] + 1)
    except OSError:
        continue
    c = bind(0)
    print(a.getsockname()[1], c.getsockname()[1])
    break
EOF
}

# ---- one collector + one subscriber ----

# run NAME LANG CAPTURE SAMPLES_URL CONTROL_URL STATS_INTERVAL [SUBSCRIBER OPTIONS...]
# Leaves the subscriber's stdout in $WORK/NAME.out, stderr in NAME.err.
run() {
    local name=$1 lang=$2 cap=$3 samples=$4 control=$5 interval=$6 log=$WORK/$1.col.log
    shift 6
    local fast=no cpid rc failed0=$failed
    [ "$cap" = fabric-demo.pcap ] && fast=yes
    "$COL" -Dsflow.file="$DATA/$cap" -Dsflow.file.fast=$fast -Dsflow.file.wait=120 \
        -Dbus.samples="$samples" -Dbus.lanes=2 -Dbus.control="$control" \
        -Dstats.interval="$interval" -Dcollector.id=subtest 2>"$log" &
    cpid=$!
    wait_for "$log" "waiting up to 120 s for subscribers" 30
    ok $? "$name: collector waits for subscribers"
    if [ "$lang" = python ]; then
        set -- $PY "$SUBS/python/sfa_subscribe.py" "$@"
    else
        set -- /usr/bin/perl "$SUBS/perl/sfa_subscribe.pl" "$@"
    fi
    timeout 240 "$@" --url "$samples" --lanes 2 --control "$control" --timeout $IDLE \
        >"$WORK/$name.out" 2>"$WORK/$name.err"
    rc=$?
    ok $rc "$name: subscriber exits 0 after $IDLE s without samples"
    has "$log" "sflow.file $DATA/$cap ended" && ! has "$log" "replaying anyway"
    ok $? "$name: the replay started once the subscriber was connected, and ended"
    kill -TERM $cpid
    wait $cpid
    ok $? "$name: collector exits 0 on SIGTERM"
    ! has "$WORK/$name.err" "# gap:"
    ok $? "$name: no sequence gaps reported"
    if [ $failed -ne $failed0 ]; then
        sed 's/^/# col: /' "$log"
        sed 's/^/# err: /' "$WORK/$name.err"
    fi
}

# check NAME CAPTURE: compare the subscriber's sample lines with the
# capture's ground truth; prints one "PASS|FAIL description" line per check.
check() {
    $PY - "$WORK/$1.out" "$DATA/$2.expected.json" <<'EOF'
import json, sys
out, exp = sys.argv[1], json.load(open(sys.argv[2]))["truth"]
pairs, last_ctr, total = {}, {}, None
for line in open(out):
    if line.startswith("# total "):
        total = dict(w.split("=") for w in line.split()[2:])
    if not line.startswith(("flow.v1.", "counter.v1.")):
        continue
    w = dict(x.split("=", 1) for x in line.split()[1:])
    src = w.get("ipsource", w.get("ip6source"))
    dst = w.get("ipdestination", w.get("ip6destination"))
    if w["kind"] == "flow" and src:
        p = pairs.setdefault((src, dst), [0, 0])
        p[0] += 1
        p[1] += int(w["framelength"]) * int(w["rate"])
    if w["kind"] == "counter" and "ifinoctets" in w:
        last_ctr["%s|%s" % (w["agent"], w["ifindex"])] = int(w["ifinoctets"])
def result(good, what, detail=""):
    print("PASS" if good else "FAIL", what, "" if good else "(%s)" % detail)
s = exp["samples"]
want = {"flow": s["flow"] + s["expanded_flow"], "counter": s["counter"] + s["expanded_counter"],
        "gaps": 0}
got = {k: int(total[k]) for k in want} if total else None
result(got == want, "sample totals %s" % want, got)
for p in exp["top_ip_pairs"]:
    got = pairs.get((p["src"], p["dst"]), [0, 0])
    result(got == [p["headers"], p["scaled_bytes"]], "%s -> %s: %d samples, %d scaled bytes" %
           (p["src"], p["dst"], p["headers"], p["scaled_bytes"]), got)
result(len(pairs) == exp["distinct_ip_pairs"], "%d distinct ip pairs" % exp["distinct_ip_pairs"],
       len(pairs))
want = {k: v["ifInOctets"] for k, v in exp["if_counters_last"].items()}
result(last_ctr == want, "last ifinoctets of %d interfaces" % len(want), last_ctr)
EOF
}

# report NAME CAPTURE: turn check's lines into TAP.
report() {
    local verdict what
    while read -r verdict what; do
        [ "$verdict" = PASS ]
        ok $? "$1: $what"
    done < <(check "$1" "$2")
}

sample_lines() { grep -E '^(flow|counter)\.v1\.' "$WORK/$1.out" | sort; }
topic_counts() { grep -E '^# (flow|counter)\.v1\.' "$WORK/$1.out" | sed 's/ messages=[0-9]*//'; }

# ---- the runs ----

if [ ! -x "$COL" ]; then
    echo "1..0 # SKIP sfa-collector is not built"
    exit 0
fi
langs=()
NNG='ctypes.CDLL(ctypes.util.find_library("nng") or "libnng.so.1")'
if $PY -c "import ctypes, ctypes.util, msgpack; $NNG" 2>/dev/null; then
    langs+=(python)
else
    skip "python: needs python3-msgpack and libnng1 (deploy/install-deps.sh --test)"
fi
if /usr/bin/perl -MNanoMsg::Raw -MData::MessagePack -e 1 2>/dev/null; then
    langs+=(perl)
else
    skip "perl: needs libnanomsg-raw-perl and libdata-messagepack-perl" \
        "(deploy/install-deps.sh --test)"
fi
mkdir -p "$WORK"

for lang in "${langs[@]}"; do
    # 1. One datagram of 5 flow samples (3 IPv6, 2 IPv4), replayed at its pace.
    name=$lang-akvorado
    run $name $lang akvorado-data-1140.pcap "ipc://$WORK/$lang-a.samples" \
        "ipc://$WORK/$lang-a.control" 1
    report $name akvorado-data-1140.pcap
    [ "$(grep -c '^flow\.v1\.f0 agent=172\.16\.0\.3 ds=' "$WORK/$name.out")" -eq 5 ]
    ok $? "$name: 5 lines on flow.v1.f0 (the agent's bucket) from agent 172.16.0.3"
    has "$WORK/$name.out" "# flow.v1.f0 messages=1 datagrams=1 samples=5 gaps=0"
    ok $? "$name: summary: flow.v1.f0 had one message, one datagram, 5 samples"
    grep -qE '^stats\.v1 src=subtest seq=[0-9]+ service=collector uptime_ms=' "$WORK/$name.out"
    ok $? "$name: stats.v1 lines from bus.control"

    # 2. Four agents, flows and counters, over both ipc:// lanes, fast.
    name=$lang-fabric
    run $name $lang fabric-demo.pcap "ipc://$WORK/$lang-f.samples" \
        "ipc://$WORK/$lang-f.control" 1
    report $name fabric-demo.pcap
    has "$WORK/$name.out" "samples=9411 gaps=0 flow=9291 counter=120 discard=0"
    ok $? "$name: summary: 9291 flow and 120 counter samples"
    four='10\.0\.0\.1,10\.0\.0\.2,10\.0\.0\.3,10\.0\.0\.4'
    grep -qE "^agents\\.v1 src=subtest seq=[0-9]+ agents=$four\$" "$WORK/$name.out"
    ok $? "$name: agents.v1 lists the 4 agents"

    # 3. The same over tcp:// (lane i on port + i), counting only.
    name=$lang-fabric-tcp
    read -r port cport < <(free_ports)
    run $name $lang fabric-demo.pcap "tcp://127.0.0.1:$port" "tcp://127.0.0.1:$cport" 3600 --count
    ! grep -qvE '^# ' "$WORK/$name.out"
    ok $? "$name: --count prints no per-sample lines"
    has "$WORK/$name.out" "samples=9411 gaps=0 flow=9291 counter=120 discard=0"
    ok $? "$name: summary: 9291 flow and 120 counter samples"
    [ -n "$(topic_counts $name)" ] && [ "$(topic_counts $name)" = "$(topic_counts $lang-fabric)" ]
    ok $? "$name: per-topic datagrams and samples as over ipc://"
done

if [ ${#langs[@]} -eq 2 ]; then
    for cap in akvorado fabric; do
        py=$(sample_lines python-$cap)
        [ -n "$py" ] && [ "$py" = "$(sample_lines perl-$cap)" ]
        ok $? "$cap: python and perl print the same sample lines"
    done
fi

if [ $failed -eq 0 ]; then rm -rf "$WORK"; fi
echo "1..$n"
[ $failed -eq 0 ]
