#!/usr/bin/env bash
# elephant_test.sh - the seed's acceptance test: the whole suite under the
# launcher (`sfa -Dsflow.file=fabric-demo.pcap`, paced), and the seed's
# elephant.py run UNCHANGED against it. The script defines flow
# `elephant` and threshold `elephant_threshold` over REST, then long-polls
# /events/json and prints each event's flow key; it must print
# 10.4.1.2,10.4.2.2 lines and nothing else (PROVENANCE.md: the transfer
# crosses 10 Mbit/s at every switch).
#
# elephant.py hardcodes http://localhost:8008; elephant_wrap.py sends its
# requests to the test's port instead, without touching the file. The
# seed lives outside the repository (<repo>/../shared/seed/elephant.py);
# without it the test is skipped.
#
# Usage: elephant_test.sh SFA_BINARY DATA_DIR SEED_DIR WORK_DIR  (TAP)
set -u

SFA=$1
DATA=$2
SEED=$3/elephant.py
WORK=$4/elephant-$$
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
n=0
failed=0

ok() {
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}

if [ ! -f "$SEED" ]; then
    echo "1..0 # SKIP the seed's elephant.py is not at $SEED"
    exit 0
fi
if ! "$PY" -c 'import requests' 2>/dev/null; then
    echo "1..0 # SKIP python3-requests is not installed"
    exit 0
fi

port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK"
log=$WORK/sfa.log
# Paced replay (the capture lasts 120 s), looping so a slow start cannot
# miss the transfer; sflow.port=0 keeps the UDP listener off 6343.
"$SFA" -Dsflow.file="$DATA/fabric-demo.pcap" -Dsflow.file.loop=yes -Dsflow.port=0 \
    -Dhttp.port="$port" -Dhttp.hostname=127.0.0.1 -Dsfa.rundir="$WORK/run" \
    -Dsfa.state="$WORK/state" >"$log" 2>&1 &
sfa=$!

up=1
for _ in $(seq 1 200); do
    if "$PY" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/flow/json', timeout=1)" 2>/dev/null; then
        up=0
        break
    fi
    sleep 0.1
done
ok $up "gateway answers on port $port under the launcher"

# The seed script, unchanged; it loops forever, so it is stopped once it
# has printed one line per switch or after 60 s.
out=$WORK/elephant.out
NO_PROXY=127.0.0.1 no_proxy=127.0.0.1 "$PY" -u "$HERE/elephant_wrap.py" "$port" "$SEED" \
    >"$out" 2>"$WORK/elephant.err" &
py=$!
for _ in $(seq 1 600); do
    [ "$(wc -l <"$out")" -ge 4 ] && break
    kill -0 "$py" 2>/dev/null || break
    sleep 0.1
done
sleep 2 # anything else it would print comes now
kill "$py" 2>/dev/null
wait "$py" 2>/dev/null

lines=$(wc -l <"$out")
[ "$lines" -ge 1 ]
ok $? "elephant.py printed flow keys ($lines lines)"
[ "$(grep -cvx '10\.4\.1\.2,10\.4\.2\.2' "$out")" = 0 ]
ok $? "every line is 10.4.1.2,10.4.2.2"
if [ "$failed" -gt 0 ]; then
    sed 's/^/# out: /' "$out" | head -20
    sed 's/^/# err: /' "$WORK/elephant.err" | tail -5
fi

kill -TERM "$sfa"
for _ in $(seq 1 150); do kill -0 "$sfa" 2>/dev/null || break; sleep 0.1; done
kill -0 "$sfa" 2>/dev/null && kill -KILL "$sfa"
wait "$sfa"
ok $? "sfa stops cleanly on SIGTERM"
grep -q '"elephant_threshold"' "$WORK/state/definitions.json" 2>/dev/null
ok $? "the threshold is stored in sfa.state"
! grep -qE 'Sanitizer|runtime error:' "$log"
ok $? "no sanitizer reports in the services' logs"
[ "$failed" -gt 0 ] && sed 's/^/# log: /' "$log" | grep -v 'INFO' | head -20

echo "1..$n"
[ "$failed" = 0 ] && rm -rf "$WORK"
[ "$failed" = 0 ]
