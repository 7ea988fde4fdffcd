#!/usr/bin/env bash
# scripts_elephant_test.sh - the seed's acceptance run: the seed's
# elephant.js, unmodified (read from ../shared/seed, never copied), under
# the launcher with the whole suite:
#
#   sfa -Dsflow.file=fabric-demo.pcap -Dscript.file=elephant.js
#
# must log 10.4.1.2,10.4.2.2 lines in sFlow-RT's log shape
# ("2026-11-29T01:00:00Z INFO: 10.4.1.2,10.4.2.2"), and no other flow key.
# Skips (TAP SKIP) when the seed is not there or a service is not built.
#
# Usage: scripts_elephant_test.sh BUILD DATA SEED WORKDIR   (TAP on stdout)
set -u

BUILD=$1
DATA=$2
SEED=$3
WORK=$4/elephant-$$
n=0
failed=0

ok() {
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}

if [ ! -f "$SEED/elephant.js" ]; then
    echo "1..0 # SKIP the seed's elephant.js is not at $SEED (it is never copied into the repo)"
    exit 0
fi
for b in sfa sfa-collector sfa-aggregator sfa-events sfa-gateway sfa-scripts; do
    if [ ! -x "$BUILD/$b" ]; then
        echo "1..0 # SKIP $b is not built"
        exit 0
    fi
done

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK"
log=$WORK/sfa.log
# The seed runs sFlow-RT in a directory holding the capture and the script;
# so does this test (by absolute paths; the seed file stays where it is).
(cd "$WORK" && exec "$BUILD/sfa" -Dsfa.rundir="$WORK/run" -Dhttp.port="$port" \
    -Dhttp.hostname=127.0.0.1 -Dsflow.file="$DATA/fabric-demo.pcap" \
    -Dscript.file="$SEED/elephant.js") >"$WORK/sfa.out" 2>"$log" &
pid=$!

shape='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z INFO: 10\.4\.1\.2,10\.4\.2\.2$'
end=$((SECONDS + 90))
while [ $SECONDS -le $end ] && kill -0 "$pid" 2>/dev/null; do
    [ "$(grep -cE "$shape" "$log")" -ge 2 ] && break
    sleep 0.2
done
sleep 1

grep -qE "$shape" "$log"
ok $? "elephant.js logs 10.4.1.2,10.4.2.2 in sFlow-RT's log shape"
grep -q 'INFO: scripts: .*elephant.js started' "$log"
ok $? "the script was started by sfa-scripts under the launcher"
# Every flow key any script logged: lines "<ts> INFO: a.b.c.d,e.f.g.h".
others=$(grep -E '^[0-9T:Z-]+ INFO: [0-9.]+,[0-9.]+$' "$log" | grep -vE "$shape")
[ -z "$others" ]
ok $? "no other flow key is logged"
[ -n "$others" ] && echo "$others" | head -5 | sed 's/^/# /'
grep -qE 'SEVERE: scripts: .*elephant' "$log"
[ $? -ne 0 ]
ok $? "the script ran without errors"

kill -TERM "$pid" 2>/dev/null
end=$((SECONDS + 15))
while kill -0 "$pid" 2>/dev/null && [ $SECONDS -le $end ]; do sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
wait "$pid"
ok $? "SIGTERM: sfa exits 0"

if [ $failed -ne 0 ]; then
    echo "# log tail:"
    tail -40 "$log" | sed 's/^/# /'
fi
echo "1..$n"
[ $failed -eq 0 ] || exit 1
rm -rf "$WORK"
exit 0
