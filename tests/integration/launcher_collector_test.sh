#!/usr/bin/env bash
# launcher_collector_test.sh - `sfa` with the REAL collector: the launcher
# starts build/sfa-collector on ipc:// bus addresses under its runtime
# dir, passes sFlow-RT's -Dsflow.port on, and stops it on SIGTERM.
#
# Needs the real sfa-collector next to sfa (written in parallel with the
# launcher; registered in meson only when the collector executable is).
#
# Usage: launcher_collector_test.sh SFA WORKDIR   (TAP on stdout)
set -u

SFA=$1
WORK=$2/lc-$$
RUN=$WORK/run
n=0
failed=0

ok() {
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
has() { grep -qF -- "$2" "$1" 2>/dev/null; }
wait_for() {
    local end=$((SECONDS + $3))
    while [ $SECONDS -le "$end" ]; do
        has "$1" "$2" && return 0
        sleep 0.05
    done
    return 1
}

if [ ! -x "$(dirname "$SFA")/sfa-collector" ]; then
    echo "1..0 # SKIP sfa-collector is not built"
    exit 0
fi

# A free UDP port on 127.0.0.1 (released again before sfa binds it).
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

mkdir -p "$WORK"
log=$WORK/sfa.log
"$SFA" -Dsfa.rundir="$RUN" -Dsflow.port="$port" -Dsflow.hostname=127.0.0.1 -Dhttp.port=0 >"$log.out" 2>"$log" &
pid=$!
wait_for "$log" "Listening, sFlow port $port" 15
ok $? "collector started by sfa listens on sFlow port $port"
has "$log" "INFO: sfa: Starting sfa "
ok $? "launcher announced itself"
grep -qE '^[0-9-]{10}T[0-9:]{8}Z INFO: collector: ' "$log"
ok $? "collector log lines forwarded in sFlow-RT shape"
[ -S "$RUN/control" ]
ok $? "collector listens on bus.control under the runtime dir"
ls "$RUN"/samples* >/dev/null 2>&1
ok $? "collector listens on its sample lanes under the runtime dir"

kill -TERM "$pid"
end=$((SECONDS + 10))
while kill -0 "$pid" 2>/dev/null && [ $SECONDS -le $end ]; do sleep 0.05; done
if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
wait "$pid"
ok $? "SIGTERM: sfa exits 0"
has "$log" "collector stopped (status 0)"
ok $? "collector stopped cleanly"
[ ! -e "$RUN" ]
ok $? "runtime dir removed"

if [ $failed -ne 0 ]; then sed 's/^/# /' "$log"; fi
rm -rf "$WORK"
echo "1..$n"
[ $failed -eq 0 ]
