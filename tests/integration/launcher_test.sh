#!/usr/bin/env bash
# launcher_test.sh - the `sfa` launcher's process management, with a fake
# child: log forwarding, argument and RTPROP forwarding, runtime dir,
# SIGTERM stops all, restart with back-off, exit 1 on a child's bad
# config, SIGKILL after 5 s, missing binaries, bad launcher properties.
#
# Usage: launcher_test.sh SFA FAKE_SERVICE WORKDIR   (TAP on stdout)
# The fake is linked as WORKDIR/lt-bin/sfa-collector and found through
# -Dsfa.bindir; sockets and logs stay under WORKDIR.
set -u

SFA=$(realpath "$1")
FAKE=$(realpath "$2")  # meson passes it relative to the build dir
WORK=$3/lt-$$
BIN=$WORK/bin
RUN=$WORK/run
n=0
failed=0

ok() { # ok COND-STATUS DESCRIPTION
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
check() { "$@" >/dev/null 2>&1; }
has() { grep -qF -- "$2" "$1" 2>/dev/null; }

# wait_for FILE TEXT SECONDS: until TEXT appears in FILE.
wait_for() {
    local end=$((SECONDS + $3))
    while [ $SECONDS -le "$end" ]; do
        has "$1" "$2" && return 0
        sleep 0.05
    done
    return 1
}

# wait_exit PID SECONDS: until PID is gone; sets $status to its exit code.
wait_exit() {
    local end=$((SECONDS + $2))
    while kill -0 "$1" 2>/dev/null && [ $SECONDS -le "$end" ]; do sleep 0.05; done
    if kill -0 "$1" 2>/dev/null; then kill -KILL "$1"; wait "$1"; status=999; return 1; fi
    wait "$1"
    status=$?
}

# start LOG ARGS...: run sfa in the background with the fake bin dir.
# Only the collector row runs unless a case asks for aggregators.
start() {
    local log=$1
    shift
    "$SFA" -Dsfa.aggregators=0 -Dsfa.events=no -Dsfa.gateway=no -Dsfa.bindir="$BIN" -Dsfa.rundir="$RUN" "$@" >"$log.out" 2>"$log" &
    pid=$!
}

fake_pids() { sed -n 's/.*fake started pid \([0-9]*\).*/\1/p' "$1"; }

mkdir -p "$BIN"
ln -sf "$FAKE" "$BIN/sfa-collector"
ln -sf "$FAKE" "$BIN/sfa-aggregator"

# 1. Start, forward logs and arguments, stop on SIGTERM.
log=$WORK/basic.log
RTPROP="-Dsflow.hostname=127.0.0.1" start "$log" -Dsflow.port=6343 -Dhttp.port=8008 -Dsflow.file=
wait_for "$log" "part two" 10
ok $? "fake collector started and logged"
has "$log" "INFO: sfa: Starting sfa "
ok $? "launcher logs Starting sfa <version>"
grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z INFO: collector: fake started pid [0-9]+$' "$log"
ok $? "child log line forwarded unchanged"
has "$log" "fake stdout line"
ok $? "child stdout forwarded to stderr"
has "$log" "fake part one, part two"
ok $? "a line written in two pieces is forwarded whole"
has "$log" "fake args: -Dbus.samples=ipc://$RUN/samples -Dbus.control=ipc://$RUN/control"
ok $? "bus addresses under the runtime dir come first"
has "$log" "-Dsfa.rundir=$RUN -Dsflow.port=6343 -Dhttp.port=8008 -Dsflow.file="
ok $? "the launcher's arguments are forwarded unchanged"
has "$log" "fake RTPROP=-Dsflow.hostname=127.0.0.1"
ok $? "RTPROP reaches the child"
[ "$(stat -c %a "$RUN" 2>/dev/null)" = 700 ]
ok $? "runtime dir created with mode 0700"
child=$(fake_pids "$log" | head -1)
kill -TERM "$pid"
wait_exit "$pid" 10
ok $status "SIGTERM: launcher exits 0"
has "$log" "fake got SIGTERM"
ok $? "child received SIGTERM"
has "$log" "collector stopped (status 0)"
ok $? "child's exit logged"
! check kill -0 "$child"
ok $? "child process is gone"
[ ! -e "$RUN" ]
ok $? "runtime dir removed"

# 2. A dying child is restarted with doubling back-off.
log=$WORK/restart.log
FAKE_EXIT_AFTER_MS=50 FAKE_EXIT_STATUS=3 start "$log"
wait_for "$log" "restarting in 2.0 s" 15
ok $? "third exit schedules a 2 s back-off"
has "$log" "WARNING: sfa: collector exited with status 3 after"
ok $? "exit logged as WARNING with its status"
grep -o 'restarting in [0-9.]* s' "$log" | head -3 | tr '\n' ' ' | grep -qx 'restarting in 0.5 s restarting in 1.0 s restarting in 2.0 s '
ok $? "back-off 0.5 s, 1 s, 2 s"
[ "$(fake_pids "$log" | sort -u | wc -l)" -ge 3 ]
ok $? "each restart is a new process"
kill -TERM "$pid"
wait_exit "$pid" 10
ok $status "SIGTERM during back-off: exit 0"
! has "$log" "restarting in 4.0 s"
ok $? "no restart after stopping"

# 3. Exit status 1 at start-up (bad configuration) stops the launcher.
log=$WORK/badconf.log
FAKE_EXIT_AFTER_MS=10 FAKE_EXIT_STATUS=1 start "$log"
wait_exit "$pid" 10
[ "$status" -eq 1 ]
ok $? "child's bad config: launcher exits 1"
has "$log" "SEVERE: sfa: collector exited with status 1 during start-up"
ok $? "reason logged"
! has "$log" "restarting in"
ok $? "no restart loop"

# 4. A child that ignores SIGTERM is killed after 5 s.
log=$WORK/kill.log
FAKE_IGNORE_TERM=1 start "$log"
wait_for "$log" "part two" 10
child=$(fake_pids "$log" | head -1)
kill -INT "$pid"
wait_exit "$pid" 15
ok $status "SIGINT: launcher exits 0 even if a child hangs"
has "$log" "sending SIGKILL"
ok $? "SIGKILL after the grace period logged"
has "$log" "collector stopped (signal 9"
ok $? "child ended by signal 9"
! check kill -0 "$child"
ok $? "hung child is gone"

# 5. Errors of the launcher itself.
"$SFA" -Dsfa.bindir="$WORK/none" -Dsfa.rundir="$RUN" 2>"$WORK/nobin.log"
[ $? -eq 2 ] && has "$WORK/nobin.log" "cannot start collector"
ok $? "missing service binary: exit 2 with a message"
"$SFA" -Dsfa.rundir="$RUN" -Dsflow.prot=1 2>"$WORK/badprop.log"
[ $? -eq 1 ] && has "$WORK/badprop.log" "unknown property sflow.prot"
ok $? "unknown property: exit 1 naming it"
"$SFA" --help >"$WORK/help.out" 2>&1
[ $? -eq 0 ] && has "$WORK/help.out" "sfa.rundir" && has "$WORK/help.out" "sfa.bindir"
ok $? "--help lists the launcher's properties"
[ ! -e "$RUN" ]
ok $? "no runtime dir left behind"

# 6. -Dsfa.aggregators=N runs N aggregators, each with its own member name
# and the gateway's control sockets under the runtime dir.
log=$WORK/aggs.log
start "$log" -Dsfa.aggregators=3
end=$((SECONDS + 10))
while [ "$(grep -c 'fake args: ' "$log" 2>/dev/null)" -lt 4 ] && [ $SECONDS -le $end ]; do
    sleep 0.05
done
[ "$(grep 'fake args: ' "$log" | grep -c -- '-Daggregator.id=aggregator-')" -eq 3 ]
ok $? "sfa.aggregators=3 starts three aggregators"
for i in 0 1 2; do
    has "$log" "-Daggregator.id=aggregator-$i -Dbus.collectors=ipc://$RUN/samples -Dbus.defs=ipc://$RUN/defs -Dbus.query=ipc://$RUN/query"
    ok $? "aggregator $i: its id and the bus addresses"
done
kill -TERM "$pid"
wait_exit "$pid" 10
ok $status "SIGTERM stops the collector and the aggregators: exit 0"
[ "$(grep -c 'stopped (status 0)' "$log")" -eq 4 ]
ok $? "all four children stopped"

[ $failed -eq 0 ] && rm -rf "$WORK"
echo "1..$n"
[ $failed -eq 0 ]
